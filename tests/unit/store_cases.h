/* Test cases that run on a store of either backend (pg: the database of
 * MINTRAC_TEST_PG_URL, see test_loc.h): defined beside their SQLite
 * TESTs, run on PostgreSQL by test_history_pg.c. */
#ifndef MINTRAC_STORE_CASES_H
#define MINTRAC_STORE_CASES_H

/* test_history_engine.c */
void hist_case_batches_equal_scratch(int pg);
void hist_case_late_fix_and_delete(int pg);
void hist_case_places(int pg);
void hist_case_stats_local_days(int pg);
/* test_geo.c */
void geo_case_nothing_loaded(int pg);
void geo_case_synthetic(int pg);
void geodata_case_load(int pg);
#endif
