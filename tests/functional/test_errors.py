"""Error replies of the receiver: 401, 400, 413, 431 — each followed by a
valid point that is still stored; 400/401 keep a pipelined connection going,
413/431 close it."""
import json
import select
import socket
import time
import unittest
import urllib.parse

from harness import Mintrac, ServerCase, basic, recv_responses, is_closed

USER = "alice"
PASSWORD = "alice-secret-1"
WRONG = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON_CT = {"Content-Type": "application/json"}


def feature(ts, lat=52.520008, lon=13.404954, **props):
    p = {"timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))}
    p.update(props)
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": p}


def send_big(port, head: bytes, body_len: int, fill=b"a", timeout=20):
    """Send head then body_len bytes of fill, stopping early if the server
    answers (or closes). Returns (responses, closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(head)
        chunk = (fill * (65536 // len(fill) + 1))[:65536]
        sent = 0
        deadline = time.monotonic() + timeout
        while sent < body_len and time.monotonic() < deadline:
            r, _, _ = select.select([s], [], [], 0)
            if r:
                break           # an early reply (413) or a close
            n = min(len(chunk), body_len - sent)
            try:
                s.sendall(chunk[:n])
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += n
        resps, eof = recv_responses(s, 1, timeout=10)
        closed = eof or is_closed(s, 3)
        return resps, closed
    finally:
        s.close()


class ErrorBase(ServerCase):
    users = ((USER, PASSWORD), ("bob", "bob-secret-1"))
    ts = 1714558530

    def next_ts(self):
        ErrorBase.ts += 1
        return ErrorBase.ts

    def count(self, name):
        return self.m.device_count(name, USER, PASSWORD)

    def valid_req(self, tok, ts=None):
        return "/osmand?token=%s&lat=52.520008&lon=13.404954&timestamp=%d000" % (tok, ts or self.next_ts())

    def assert_still_stores(self, name, tok, what=""):
        """A valid point on a new connection is answered 2xx and stored."""
        n0 = self.count(name)
        st, _, data = self.m.request("GET", self.valid_req(tok))
        self.assertEqual(st, 200, "valid point after %s: %d %r" % (what, st, data))
        self.assertEqual(self.count(name), n0 + 1, "valid point after %s not stored" % what)

    def assert_status(self, res, status, what):
        st, hdrs, data = res
        self.assertEqual(st, status, "%s: expected %d, got %d %r" % (what, status, st, data[:300]))
        return hdrs, data

    def assert_error_reply(self, res, status, what):
        hdrs, data = self.assert_status(res, status, what)
        ct = hdrs.get("content-type", "")
        self.assertTrue(ct.startswith("text/plain"), "%s: Content-Type %r" % (what, ct))
        text = data.decode("utf-8", "replace").strip()
        self.assertTrue(text, "%s: empty reason" % what)
        self.assertNotIn("\n", text, "%s: reason must be one line: %r" % (what, text))


class Unauthorized(ErrorBase):

    def _bad_cred_requests(self, tok):
        """(what, method, path, body, headers) carrying tok as the credential."""
        ot = json.dumps({"_type": "location", "lat": 52.5, "lon": 13.4, "tst": self.next_ts(), "tid": "ph"})
        ov = json.dumps({"locations": [feature(self.next_ts())]})
        q = "lat=52.520008&lon=13.404954&timestamp=%d" % self.next_ts()
        reqs = [
            ("/osmand", "GET", "/osmand?token=%s&%s" % (tok, q), None, {}),
            ("/osmand id", "GET", "/osmand?id=%s&%s" % (tok, q), None, {}),
            ("/", "POST", "/?id=%s&%s" % (tok, q), b"", {}),
            ("/ form", "POST", "/", "id=%s&%s" % (tok, q), FORM),
            ("/ json", "POST", "/", json.dumps({"device_id": tok, "location": {
                "timestamp": "2024-05-01T10:15:30.000Z", "coords": {"latitude": 52.5, "longitude": 13.4}}}), JSON_CT),
            ("/gpslogger", "GET", "/gpslogger?token=%s&%s" % (tok, q), None, {}),
            ("/gpslogger bearer", "GET", "/gpslogger?" + q, None, {"Authorization": "Bearer " + tok}),
            ("/gpslogger basic", "GET", "/gpslogger?" + q, None, {"Authorization": basic(USER, tok)}),
            ("/owntracks", "POST", "/owntracks", ot, dict(JSON_CT, Authorization=basic(USER, tok))),
            ("/pub", "POST", "/pub", ot, dict(JSON_CT, Authorization=basic(USER, tok))),
            ("/api/v1/owntracks/points", "POST", "/api/v1/owntracks/points?api_key=" + tok, ot, JSON_CT),
            ("/overland bearer", "POST", "/overland", ov, dict(JSON_CT, Authorization="Bearer " + tok)),
            ("/overland token", "POST", "/overland?token=" + tok, ov, JSON_CT),
            ("/api/v1/overland/batches", "POST", "/api/v1/overland/batches?api_key=" + tok, ov, JSON_CT),
        ]
        return reqs

    def _expect_401_everywhere(self, tok, name, valid_tok):
        for what, method, path, body, headers in self._bad_cred_requests(tok):
            with self.subTest(what):
                n0 = self.count(name)
                self.assert_error_reply(self.m.request(method, path, body=body, headers=headers), 401, what)
                self.assertEqual(self.count(name), n0, "%s: stored despite 401" % what)
                self.assert_still_stores(name, valid_tok, what)

    def test_no_credential(self):
        name, tok = self.device()
        q = "lat=52.520008&lon=13.404954&timestamp=%d" % self.next_ts()
        ot = json.dumps({"_type": "location", "lat": 52.5, "lon": 13.4, "tst": self.next_ts(), "tid": "ph"})
        ov = json.dumps({"locations": [feature(self.next_ts())]})
        for what, method, path, body, headers in [
                ("/osmand", "GET", "/osmand?" + q, None, {}),
                ("/", "GET", "/?" + q, None, {}),
                ("/ form", "POST", "/", q, FORM),
                ("/gpslogger", "GET", "/gpslogger?" + q, None, {}),
                ("/owntracks", "POST", "/owntracks", ot, JSON_CT),
                ("/pub", "POST", "/pub?u=alice&d=" + name, ot, JSON_CT),
                ("/api/v1/owntracks/points", "POST", "/api/v1/owntracks/points", ot, JSON_CT),
                ("/overland", "POST", "/overland", ov, JSON_CT),
                ("/api/v1/overland/batches", "POST", "/api/v1/overland/batches", ov, JSON_CT)]:
            with self.subTest(what):
                self.assert_error_reply(self.m.request(method, path, body=body, headers=headers), 401, what)
                self.assert_still_stores(name, tok, what)

    def test_wrong_token(self):
        name, tok = self.device()
        self._expect_401_everywhere(WRONG, name, tok)

    def test_deleted_device(self):
        name, tok = self.device()
        other, otok = self.device("_other")
        st, _, data = self.m.request("GET", self.valid_req(tok))
        self.assertEqual(st, 200, data)
        self.m.cli("device", "del", USER, name)
        self._expect_401_everywhere(tok, other, otok)

    def test_regenerated_token(self):
        name, old = self.device()
        self.assertEqual(self.m.request("GET", self.valid_req(old))[0], 200)
        new = self.m.new_token(USER, name)
        self.assertNotEqual(new, old)
        self.assertRegex(new, r"^[A-Za-z0-9_-]{22,}$")
        # the new one works at once, the old one never again
        self.assert_still_stores(name, new, "token regeneration")
        self._expect_401_everywhere(old, name, new)

    def test_ident_only_on_traccar_endpoint(self):
        ident = "555000111222333"
        name, tok = self.device(ident=ident)
        q = "lat=52.520008&lon=13.404954&timestamp=%d" % self.next_ts()
        for what, method, path, body, headers in self._bad_cred_requests(ident):
            if what.startswith("/ "):
                continue
            if what == "/":
                continue
            with self.subTest(what):
                self.assert_error_reply(self.m.request(method, path, body=body, headers=headers), 401,
                                        "ident as token on " + what)
                self.assert_still_stores(name, tok, what)
        n0 = self.count(name)
        st, _, data = self.m.request("GET", "/?id=%s&%s" % (ident, q))
        self.assertEqual(st, 200, data)
        self.assertEqual(self.count(name), n0 + 1)

    def test_ulogger_wrong_pass(self):
        name, tok = self.device()
        for what, body in [("wrong pass", "action=auth&user=%s&pass=%s" % (USER, WRONG)),
                           ("other user", "action=auth&user=bob&pass=%s" % tok),
                           ("unknown user", "action=auth&user=nobody&pass=%s" % tok),
                           ("no pass", "action=auth&user=%s" % USER)]:
            with self.subTest(what):
                st, hdrs, data = self.m.request("POST", "/client/index.php", body=body, headers=FORM)
                self.assertEqual(st, 401, "%s: %d %r" % (what, st, data))
                self.assertTrue(hdrs.get("content-type", "").startswith("application/json"), hdrs)
                try:
                    doc = json.loads(data)
                except ValueError:
                    self.fail("%s: 401 body is not JSON: %r" % (what, data))
                self.assertIs(doc.get("error"), True, doc)
                self.assertIsInstance(doc.get("message"), str, doc)
                self.assertNotIn("set-cookie", hdrs, "no session for a failed login")
                self.assert_still_stores(name, tok, what)

    def test_ulogger_addpos_without_session(self):
        name, tok = self.device()
        body = "action=addpos&trackid=1&lat=52.520008&lon=13.404954&time=%d" % self.next_ts()
        for what, headers in [("no cookie", FORM), ("bogus cookie", dict(FORM, Cookie="ulogger=bogus"))]:
            with self.subTest(what):
                st, _, data = self.m.request("POST", "/client/index.php", body=body, headers=headers)
                self.assertEqual(st, 401, "%s: %d %r" % (what, st, data))
                n0 = self.count(name)
                self.assert_still_stores(name, tok, what)
                self.assertEqual(self.count(name), n0 + 1)

    def test_owntracks_wrong_basic(self):
        name, tok = self.device()
        ot = json.dumps({"_type": "location", "lat": 52.5, "lon": 13.4, "tst": self.next_ts(), "tid": "ph"})
        for what, auth in [("wrong password", basic(USER, WRONG)),
                           ("password is user password", basic(USER, PASSWORD)),
                           ("garbage", "Basic !!!notbase64"),
                           ("no colon", "Basic " + "YWxpY2U=")]:
            with self.subTest(what):
                res = self.m.request("POST", "/owntracks", body=ot, headers=dict(JSON_CT, Authorization=auth))
                self.assert_error_reply(res, 401, what)
                self.assertEqual(self.count(name), 0)
        self.assert_still_stores(name, tok, "owntracks 401")

    def test_401_pipelined_keeps_connection(self):
        name, tok = self.device()
        bad = "GET /osmand?token=%s&lat=52.5&lon=13.4&timestamp=%d HTTP/1.1\r\nHost: x\r\n\r\n" % (WRONG, self.next_ts())
        good = "GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % self.valid_req(tok)
        with self.m.connect() as s:
            s.sendall((bad + good).encode())
            resps, eof = recv_responses(s, 2, timeout=10)
        self.assertEqual([r[0] for r in resps], [401, 200], "pipelined 401 + valid")
        self.assertEqual(self.count(name), 1)


BAD_VALUES = [
    ("lat empty", "lat=&lon=13.404954"),
    ("lon empty", "lat=52.520008&lon="),
    ("lat=abc", "lat=abc&lon=13.404954"),
    ("lat=nan", "lat=nan&lon=13.404954"),
    ("lon=NaN", "lat=52.520008&lon=NaN"),
    ("lat=inf", "lat=inf&lon=13.404954"),
    ("lat=-Infinity", "lat=-Infinity&lon=13.404954"),
    ("lat=1e999", "lat=1e999&lon=13.404954"),
    ("lat=91", "lat=91&lon=13.404954"),
    ("lat=-90.0001", "lat=-90.0001&lon=13.404954"),
    ("lon=-181", "lat=52.520008&lon=-181"),
    ("lon=180.5", "lat=52.520008&lon=180.5"),
    ("lat=12abc", "lat=12abc&lon=13.404954"),
    ("only lat", "lat=52.520008"),
    ("only lon", "lon=13.404954"),
]


class BadRequest(ErrorBase):

    def _check_400(self, name, tok, what, method, path, body=None, headers=None):
        n0 = self.count(name)
        res = self.m.request(method, path, body=body, headers=headers or {})
        if path.startswith("/client/"):
            # μlogger: every reply is JSON {"error":true,"message":...}
            hdrs, data = self.assert_status(res, 400, what)
            self.assertTrue(hdrs.get("content-type", "").startswith("application/json"), what)
            self.assertIs(json.loads(data).get("error"), True, data)
        else:
            self.assert_error_reply(res, 400, what)
        self.assertEqual(self.count(name), n0, "%s: something stored despite 400" % what)
        self.assert_still_stores(name, tok, what)

    def test_bad_values_osmand(self):
        name, tok = self.device()
        for what, q in BAD_VALUES + [("unreadable timestamp", "lat=52.520008&lon=13.404954&timestamp=yesterday")]:
            with self.subTest(what):
                ts = "" if "timestamp" in q else "&timestamp=%d000" % self.next_ts()
                self._check_400(name, tok, "/osmand " + what, "GET", "/osmand?token=%s&%s%s" % (tok, q, ts))

    def test_bad_values_traccar(self):
        name, tok = self.device()
        for what, q in BAD_VALUES + [("unreadable timestamp", "lat=52.520008&lon=13.404954&timestamp=yesterday"),
                                     ("bad location=", "location=52.5")]:
            with self.subTest(what):
                ts = "" if "timestamp" in q else "&timestamp=%d" % self.next_ts()
                self._check_400(name, tok, "/ " + what, "GET", "/?id=%s&%s%s" % (tok, q, ts))
                self._check_400(name, tok, "/ form " + what, "POST", "/", "id=%s&%s%s" % (tok, q, ts), FORM)

    def test_bad_values_gpslogger(self):
        name, tok = self.device()
        for what, q in BAD_VALUES + [("unreadable timestamp", "lat=52.520008&lon=13.404954&timestamp=yesterday"),
                                     ("unreadable time", "lat=52.520008&lon=13.404954&time=2024-13-45T99:00:00Z")]:
            with self.subTest(what):
                ts = "" if "time" in q else "&timestamp=%d" % self.next_ts()
                self._check_400(name, tok, "/gpslogger " + what, "GET", "/gpslogger?token=%s&%s%s" % (tok, q, ts))

    def test_bad_values_ulogger(self):
        name, tok = self.device()
        st, hdrs, data = self.m.request("POST", "/client/index.php",
                                        body="action=auth&user=%s&pass=%s" % (USER, tok), headers=FORM)
        self.assertEqual(st, 200, data)
        cookie = hdrs.get("set-cookie", "").split(";")[0]
        for what, q in [("lat=abc", "lat=abc&lon=13.4"), ("lat=91", "lat=91&lon=13.4"),
                        ("only lat", "lat=52.5"), ("time=xyz", "lat=52.5&lon=13.4&time=xyz")]:
            with self.subTest(what):
                ts = "" if "time" in q else "&time=%d" % self.next_ts()
                self._check_400(name, tok, "ulogger " + what, "POST", "/client/index.php",
                                "action=addpos&trackid=1&%s%s" % (q, ts), dict(FORM, Cookie=cookie))

    def test_bad_json_owntracks(self):
        name, tok = self.device()
        auth = dict(JSON_CT, Authorization=basic(USER, tok))
        loc = '{"_type":"location","lat":52.5,"lon":13.4,"tst":%d,"tid":"ph"}'
        for what, body in [
                ("malformed", b'{"_type":"location","lat":52.5,'),
                ("not json", b"hello"),
                ("root array", ("[" + loc + "]") % self.next_ts()),
                ("root string", b'"location"'),
                ("invalid utf-8", (loc[:-1] + ',"desc":"\xff\xfe"}').encode("latin-1") % self.next_ts()),
                ("lat=91", ('{"_type":"location","lat":91,"lon":13.4,"tst":%d,"tid":"ph"}' % self.next_ts())),
                ("lat string", ('{"_type":"location","lat":"abc","lon":13.4,"tst":%d,"tid":"ph"}' % self.next_ts())),
                ("only lat", ('{"_type":"location","lat":52.5,"tst":%d,"tid":"ph"}' % self.next_ts()))]:
            with self.subTest(what):
                self._check_400(name, tok, "/owntracks " + what, "POST", "/owntracks", body, auth)

    def test_bad_json_overland(self):
        name, tok = self.device()
        auth = dict(JSON_CT, Authorization="Bearer " + tok)
        good = json.dumps(feature(self.next_ts()))
        for what, body in [
                ("malformed", b'{"locations":['),
                ("locations object", b'{"locations":{}}'),
                ("locations string", b'{"locations":"x"}'),
                ("root array", ("[" + good + "]").encode()),
                ("invalid utf-8", ('{"locations":[' + good[:-2] + ',"wifi":"\xff"}}]}').encode("latin-1")),
                ("one bad feature", json.dumps({"locations": [
                    feature(self.next_ts()), feature(self.next_ts(), lat=91), feature(self.next_ts())]})),
                ("bad timestamp", json.dumps({"locations": [
                    feature(self.next_ts()), dict(feature(0), properties={"timestamp": "never"})]}))]:
            with self.subTest(what):
                self._check_400(name, tok, "/overland " + what, "POST", "/overland", body, auth)
                self._check_400(name, tok, "/api/v1/overland/batches " + what, "POST",
                                "/api/v1/overland/batches?api_key=" + tok, body, JSON_CT)

    def test_bad_json_traccar(self):
        name, tok = self.device()
        for what, body in [
                ("malformed", b'{"location":{"coords":'),
                ("invalid utf-8", b'{"device_id":"x\xff","location":{}}'),
                ("root string", b'"x"'),
                ("lat=91", json.dumps({"device_id": tok, "location": {
                    "timestamp": "2024-05-01T10:15:30.000Z", "coords": {"latitude": 91, "longitude": 13.4}}}))]:
            with self.subTest(what):
                self._check_400(name, tok, "/ json " + what, "POST", "/", body, JSON_CT)

    def test_bad_json_gpslogger(self):
        name, tok = self.device()
        for what, body, hdr in [("malformed", b'{"lat": 52.5, "lon":', JSON_CT),
                                ("malformed no content-type", b'{"lat": 52.5, "lon":', {}),
                                ("invalid utf-8", b'{"lat": 52.5, "lon": 13.4, "x": "\xff"}', JSON_CT)]:
            with self.subTest(what):
                self._check_400(name, tok, "/gpslogger " + what, "POST", "/gpslogger?token=" + tok, body, hdr)

    def test_invalid_utf8_form_body(self):
        # DESIGN §2 Replies: "a body that does not parse (... invalid UTF-8 ...)" -> 400
        name, tok = self.device()
        for what, path, body in [
                ("/ form", "/", b"id=%s&lat=52.5&lon=13.4&timestamp=%d&x=\xff\xfe" % (tok.encode(), self.next_ts())),
                ("/gpslogger form", "/gpslogger?token=" + tok,
                 b"lat=52.5&lon=13.4&timestamp=%d&x=\xff\xfe" % self.next_ts()),
                ("/osmand form", "/osmand?token=" + tok,
                 b"lat=52.5&lon=13.4&timestamp=%d000&x=\xc3\x28" % self.next_ts())]:
            with self.subTest(what):
                self._check_400(name, tok, what + " invalid utf-8", "POST", path, body, FORM)

    def test_invalid_utf8_in_query_never_breaks_output(self):
        # not a body: may be stored, but what is served back must stay valid UTF-8 JSON
        name, tok = self.device()
        st, _, data = self.m.request("GET", "/osmand?token=%s&lat=52.5&lon=13.4&timestamp=%d000&y=%%FF%%FE%%C3%%28"
                                     % (tok, self.next_ts()))
        self.assertIn(st, (200, 400), data)
        st, hdrs, body = self.m.request("GET", "/api/points?device=" + name, port=self.m.wport,
                                        headers={"Authorization": basic(USER, PASSWORD)})
        self.assertEqual(st, 200)
        json.loads(body.decode("utf-8"))        # strict: raises on invalid UTF-8
        self.assert_still_stores(name, tok, "invalid UTF-8 in a query")

    def test_malformed_body_without_credential(self):
        # the parse is checked before authentication when the credential is in the body
        name, tok = self.device()
        for what, method, path, body, hdr in [
                ("/ json", "POST", "/", b'{"location":{"coords":', JSON_CT),
                ("/ json utf-8", "POST", "/", b'{"location":"\xff"}', JSON_CT),
                ("/ json array", "POST", "/", b'[{"id":"x"}]', JSON_CT),
                ("/ form invalid utf-8", "POST", "/", b"id=\xff&lat=52.5&lon=13.4", FORM),
                ("ulogger invalid utf-8", "POST", "/client/index.php", b"action=auth&user=\xff&pass=x", FORM)]:
            with self.subTest(what):
                self._check_400(name, tok, what, method, path, body, hdr)

    def test_400_pipelined_keeps_connection(self):
        name, tok = self.device()
        bad = "GET /osmand?token=%s&lat=abc&lon=13.4&timestamp=%d000 HTTP/1.1\r\nHost: x\r\n\r\n" % (tok, self.next_ts())
        body = b'{"_type":"location","lat":'
        bad2 = (b"POST /owntracks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: "
                + basic(USER, tok).encode() + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        good = "GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % self.valid_req(tok)
        good2 = "GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % self.valid_req(tok)
        with self.m.connect() as s:
            s.sendall(bad.encode() + good.encode() + bad2 + good2.encode())
            resps, eof = recv_responses(s, 4, timeout=10)
        self.assertEqual([r[0] for r in resps], [400, 200, 400, 200], "pipelined 400 + valid")
        self.assertEqual(self.count(name), 2)


class TooLarge(ErrorBase):

    def test_413_osmand_form_over_1mib(self):
        name, tok = self.device()
        n = 1024 * 1024 + 1000
        start = "lat=52.5&lon=13.4&timestamp=%d000&pad=" % self.next_ts()
        head = ("POST /osmand?token=%s HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                "Content-Length: %d\r\n\r\n%s" % (tok, n, start)).encode()
        resps, closed = send_big(self.m.rport, head, n - len(start))
        self.assertTrue(resps, "no reply to an oversized body")
        self.assertEqual(resps[0][0], 413, resps[0][:2])
        self.assertTrue(closed, "connection must be closed after 413")
        self.assertEqual(self.count(name), 0)
        self.assert_still_stores(name, tok, "413")

    def test_413_header_only_pipelined(self):
        # Content-Length alone is enough to refuse; the connection is closed, the
        # request that follows on it is not served
        name, tok = self.device()
        big = ("POST /osmand?token=%s HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
               "Content-Length: %d\r\n\r\n" % (tok, 64 * 1024 * 1024))
        good = "GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % self.valid_req(tok)
        with self.m.connect() as s:
            s.sendall((big + good).encode())
            resps, eof = recv_responses(s, 2, timeout=5)
            closed = eof or is_closed(s, 3)
        self.assertTrue(resps, "no reply")
        self.assertEqual(resps[0][0], 413)
        self.assertEqual(len(resps), 1, "served a request after 413 on the same connection")
        self.assertTrue(closed, "connection must be closed after 413")
        self.assertEqual(self.count(name), 0)
        self.assert_still_stores(name, tok, "413 pipelined")

    def test_overland_2mib_batch_accepted(self):
        name, tok = self.device()
        base = 1600000000
        feats = [feature(base + i, lat=52.0 + i * 1e-5, speed=3, course=90, altitude=40, horizontal_accuracy=5,
                         vertical_accuracy=3, battery_level=0.5, battery_state="unplugged", motion=["walking"],
                         wifi="", device_id="x") for i in range(8000)]
        body = json.dumps({"locations": feats}).encode()
        self.assertGreater(len(body), 2 * 1024 * 1024)
        self.assertLess(len(body), 8 * 1024 * 1024)
        st, hdrs, data = self.m.request("POST", "/overland", body=body,
                                        headers=dict(JSON_CT, Authorization="Bearer " + tok), timeout=60)
        self.assertEqual(st, 200, data[:300])
        self.assertEqual(json.loads(data), {"result": "ok"})
        self.assertEqual(self.count(name), 8000)
        self.assert_still_stores(name, tok, "2 MiB batch")

    def test_413_overland_over_8mib(self):
        name, tok = self.device()
        n = 8 * 1024 * 1024 + 4096
        head = ("POST /overland HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer %s\r\n"
                "Content-Length: %d\r\n\r\n" % (tok, n)).encode()
        resps, closed = send_big(self.m.rport, head, n, fill=b" ")
        self.assertTrue(resps, "no reply to a 8 MiB+ Overland body")
        self.assertEqual(resps[0][0], 413)
        self.assertTrue(closed, "connection must be closed after 413")
        self.assert_still_stores(name, tok, "413 overland")

    def test_ulogger_multipart_16mib(self):
        name, tok = self.device()
        st, hdrs, data = self.m.request("POST", "/client/index.php",
                                        body="action=auth&user=%s&pass=%s" % (USER, tok), headers=FORM)
        self.assertEqual(st, 200, data)
        cookie = hdrs.get("set-cookie", "").split(";")[0]
        st, hdrs, data = self.m.request("POST", "/client/index.php", body="action=addtrack&track=big",
                                        headers=dict(FORM, Cookie=cookie))
        self.assertEqual(st, 200, data)
        trackid = json.loads(data)["trackid"]
        b = "----a1b2c3"
        parts = []
        for k, v in [("action", "addpos"), ("trackid", str(trackid)), ("lat", "52.520008"), ("lon", "13.404954"),
                     ("time", "1714558530"), ("comment", "photo")]:
            parts.append(('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (b, k, v)).encode())
        image = bytes(range(256)) * (15 * 1024 * 1024 // 256)      # 15 MiB
        parts.append(('--%s\r\nContent-Disposition: form-data; name="image"; filename="upload"\r\n'
                      'Content-Type: image/jpeg\r\n\r\n' % b).encode() + image + b"\r\n")
        parts.append(("--%s--\r\n" % b).encode())
        body = b"".join(parts)
        st, hdrs, data = self.m.request("POST", "/client/index.php", body=body, timeout=60,
                                        headers={"Content-Type": "multipart/form-data; boundary=" + b, "Cookie": cookie})
        self.assertEqual(st, 200, data[:300])
        self.assertEqual(json.loads(data), {"error": False})
        f = self.m.points(name, USER, PASSWORD)
        self.assertEqual(len(f), 1)
        self.assertEqual(f[0]["properties"]["time"], "2024-05-01T10:15:30.000Z")
        self.assert_still_stores(name, tok, "16 MiB multipart")

    def test_413_ulogger_over_16mib(self):
        name, tok = self.device()
        n = 16 * 1024 * 1024 + 4096
        head = ("POST /client/index.php HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=zz\r\n"
                "Content-Length: %d\r\n\r\n" % n).encode()
        resps, closed = send_big(self.m.rport, head, n, fill=b"x")
        self.assertTrue(resps, "no reply to a 16 MiB+ multipart body")
        self.assertEqual(resps[0][0], 413)
        self.assertTrue(closed, "connection must be closed after 413")
        self.assert_still_stores(name, tok, "413 ulogger")

    def test_431_headers(self):
        name, tok = self.device()
        for what, extra in [("one 17 KiB header", "X-Pad: %s\r\n" % ("a" * 17 * 1024)),
                            ("many headers", "".join("X-H%d: %s\r\n" % (i, "b" * 100) for i in range(170)))]:
            with self.subTest(what):
                req = "GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (self.valid_req(tok), extra)
                good = "GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % self.valid_req(tok)
                n0 = self.count(name)
                with self.m.connect() as s:
                    try:
                        s.sendall((req + good).encode())
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    resps, eof = recv_responses(s, 2, timeout=5)
                    closed = eof or is_closed(s, 3)
                self.assertTrue(resps, "%s: no reply" % what)
                self.assertEqual(resps[0][0], 431, what)
                self.assertEqual(len(resps), 1, "%s: served a request after 431" % what)
                self.assertTrue(closed, "%s: connection must be closed after 431" % what)
                self.assertEqual(self.count(name), n0)
                self.assert_still_stores(name, tok, "431 " + what)

    def test_431_long_request_line(self):
        name, tok = self.device()
        path = self.valid_req(tok) + "&pad=" + "p" * (17 * 1024)
        resps = []
        with self.m.connect() as s:
            s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
            resps, eof = recv_responses(s, 1, timeout=5)
            closed = eof or is_closed(s, 3)
        self.assertTrue(resps, "no reply")
        self.assertIn(resps[0][0], (414, 431))
        self.assertTrue(closed)
        self.assertEqual(self.count(name), 0)
        self.assert_still_stores(name, tok, "long request line")


if __name__ == "__main__":
    unittest.main()
