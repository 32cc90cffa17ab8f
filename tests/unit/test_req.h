/* Builds a struct http_request from raw request text (test_http.c). */
#ifndef MINTRAC_TEST_REQ_H
#define MINTRAC_TEST_REQ_H
#include "http.h"
void mt_test_request(struct http_request *r, const char *raw);
#endif
