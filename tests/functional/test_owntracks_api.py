"""OwnTracks Recorder API (/api/0/*) and the /ws/last WebSocket, in the
shapes OwnTracks Frontend reads (see docs/design.md, Webapp). The WebSocket
client below is a minimal RFC 6455 one: handshake, masked client frames,
unmasked server frames."""
import base64
import calendar
import hashlib
import json
import os
import socket
import struct
import time
import unittest
import urllib.parse

from harness import ServerCase, basic, is_closed

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
IDLE = 2   # the servers' idle_timeout here (s); /ws/last pings every IDLE * 5/6 s
DAY = "2024-05-01"


def epoch(iso):
    return calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ"))


class WSClosed(Exception):
    pass


class WS:
    """One WebSocket client connection to /ws/last."""

    def __init__(self, sock, rest):
        self.sock = sock
        self.buf = rest
        self.pings = 0

    @staticmethod
    def handshake(port, headers=None, key=None, path="/ws/last"):
        """(status, headers, WS or None, body)."""
        key = key if key is not None else base64.b64encode(os.urandom(16)).decode()
        h = {"Host": "127.0.0.1:%d" % port, "Upgrade": "websocket", "Connection": "Upgrade",
             "Sec-WebSocket-Key": key, "Sec-WebSocket-Version": "13"}
        h.update(headers or {})
        req = "GET %s HTTP/1.1\r\n" % path + "".join(
            "%s: %s\r\n" % (k, v) for k, v in h.items() if v is not None) + "\r\n"
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(req.encode("latin-1"))
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        if status != 101:
            n = int(hdrs.get("content-length", "0"))
            while len(rest) < n:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                rest += chunk
            sock.close()
            return status, hdrs, None, rest
        want = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        assert hdrs.get("sec-websocket-accept") == want, hdrs
        return status, hdrs, WS(sock, rest), b""

    def send(self, opcode, payload=b""):
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + body)

    def _need(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout()
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise WSClosed("EOF")
            self.buf += chunk

    def frame(self, timeout):
        """(opcode, payload) of the next server frame; socket.timeout when
        none comes in time, WSClosed at EOF."""
        deadline = time.monotonic() + timeout
        self._need(2, deadline)
        b0, b1 = self.buf[0], self.buf[1]
        if b1 & 0x80:
            raise AssertionError("server frames must not be masked")
        n, pos = b1 & 0x7F, 2
        if n == 126:
            self._need(4, deadline)
            n, pos = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10, deadline)
            n, pos = struct.unpack("!Q", self.buf[2:10])[0], 10
        self._need(pos + n, deadline)
        payload = self.buf[pos:pos + n]
        self.buf = self.buf[pos + n:]
        if not b0 & 0x80:
            raise AssertionError("this client does not expect fragments")
        return b0 & 0x0F, payload

    def text(self, timeout=2.0):
        """The next text message as JSON, answering pings on the way; None
        when nothing comes within timeout."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                op, payload = self.frame(left)
            except socket.timeout:
                return None
            if op == 0x9:
                self.pings += 1
                self.send(0xA, payload)
            elif op == 0x1:
                return json.loads(payload.decode("utf-8"))
            elif op == 0x8:
                raise WSClosed("close frame")

    def texts(self, n, timeout=3.0):
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < n:
            m = self.text(max(0.01, deadline - time.monotonic()))
            if m is None:
                break
            out.append(m)
        return out

    def close(self):
        self.sock.close()


def walk_no_null(test, v, where):
    if isinstance(v, dict):
        for k, x in v.items():
            walk_no_null(test, x, "%s.%s" % (where, k))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            walk_no_null(test, x, "%s[%d]" % (where, i))
    else:
        test.assertIsNotNone(v, "null at %s" % where)


class OwnTracksAPI(ServerCase):
    users = (("alice", "alice-secret-1"), ("bob", "bob-secret-22"), ("carol", "carol-secret-3"))
    conf = {"idle_timeout": IDLE}
    A = ("alice", "alice-secret-1")
    B = ("bob", "bob-secret-22")
    C = ("carol", "carol-secret-3")

    @classmethod
    def prepare(cls):
        m = cls.m
        cls.tok = {}
        for user, dev in (("alice", "phone"), ("alice", "Anna's car"), ("alice", "idle"),
                          ("alice", "live"), ("alice", "live2"), ("bob", "bobphone")):
            cls.tok[(user, dev)] = m.add_device(user, dev)["token"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Fixes go in through the receiver, once the servers run.
        cls.post("alice", "phone", "2024-05-01T10:00:00Z", 52.5, 13.4, speed=5, altitude=34.5,
                 hdop=12, bearing=90, batproc=87)
        cls.post("alice", "phone", "2024-05-01T10:00:10Z", 52.51, 13.41)
        cls.post("alice", "phone", "2024-05-01T10:00:20Z", 52.52, 13.42)
        cls.post("alice", "phone", "2024-05-01T23:59:59Z", 52.53, 13.43)
        cls.post("alice", "phone", "2024-05-02T00:00:00Z", 52.54, 13.44)
        cls.post("alice", "Anna's car", "2024-04-30T08:00:00Z", 48.1, 11.5, speed=0)
        cls.post("bob", "bobphone", "2024-05-01T11:00:00Z", 40.0, -3.7)

    @classmethod
    def post(cls, user, device, iso, lat, lon, **extra):
        q = {"token": cls.tok[(user, device)], "lat": lat, "lon": lon,
             "timestamp": epoch(iso) * 1000 if "T" in iso else iso}
        q.update(extra)
        st, _, body = cls.m.request("GET", "/osmand?" + urllib.parse.urlencode(q))
        assert st == 200, (st, body)

    def get(self, path, who=None, headers=None, method="GET", body=None):
        h = dict(headers or {})
        if who is not False:
            h["Authorization"] = basic(*(who or self.A))
        st, hdrs, data = self.m.request(method, path, headers=h, body=body, port=self.m.wport)
        doc = None
        if "json" in hdrs.get("content-type", ""):
            doc = json.loads(data.decode("utf-8"))
        return st, hdrs, doc if doc is not None else data

    def ok(self, path, who=None, **kw):
        st, hdrs, doc = self.get(path, who, **kw)
        self.assertEqual(st, 200, "%s: %r" % (path, doc))
        self.assertIn("application/json", hdrs.get("content-type", ""), path)
        walk_no_null(self, doc, path)
        return doc

    def locations(self, who=None, **q):
        return self.ok("/api/0/locations?" + urllib.parse.urlencode(q), who)

    def ws(self, who=None):
        st, hdrs, ws, body = WS.handshake(self.m.wport,
                                          {"Authorization": basic(*(who or self.A))})
        self.assertEqual(st, 101, body)
        self.addCleanup(ws.close)
        return ws

    # ---- HTTP routes

    def test_version(self):
        doc = self.ok("/api/0/version")
        self.assertIsInstance(doc["version"], str)
        self.assertTrue(doc["version"])

    def test_401_carries_basic_challenge(self):
        for path in ("/api/0/version", "/api/0/list", "/api/0/list?user=alice", "/api/0/last",
                     "/api/0/locations?user=alice&device=phone"):
            st, hdrs, doc = self.get(path, who=False)
            self.assertEqual(st, 401, path)
            self.assertEqual(hdrs.get("www-authenticate"), 'Basic realm="mintrac"', path)
            self.assertNotIn("results", doc if isinstance(doc, dict) else {})
        st, hdrs, _ = self.get("/api/0/last", who=("alice", "wrong-password"))
        self.assertEqual(st, 401)
        self.assertEqual(hdrs.get("www-authenticate"), 'Basic realm="mintrac"')
        # The app's own API does not raise the browser's dialog.
        st, hdrs, _ = self.get("/api/devices", who=False)
        self.assertEqual(st, 401)
        self.assertNotIn("www-authenticate", hdrs)

    def test_ws_handshake_401_carries_basic_challenge(self):
        st, hdrs, ws, _ = WS.handshake(self.m.wport)
        self.assertEqual(st, 401)
        self.assertIsNone(ws)
        self.assertEqual(hdrs.get("www-authenticate"), 'Basic realm="mintrac"')

    def test_list(self):
        self.assertEqual(self.ok("/api/0/list"), {"results": ["alice"]})
        doc = self.ok("/api/0/list?user=alice")
        self.assertEqual(sorted(doc["results"]),
                         sorted(["phone", "Anna's car", "idle", "live", "live2"]))
        self.assertEqual(self.ok("/api/0/list?user=bob", self.B), {"results": ["bobphone"]})

    def test_isolation(self):
        # Bob sees none of Alice's devices or fixes, whatever he asks.
        self.assertEqual(self.ok("/api/0/list", self.B), {"results": ["bob"]})
        self.assertEqual(self.ok("/api/0/list?user=alice", self.B), {"results": []})
        self.assertEqual(self.ok("/api/0/last?user=alice", self.B), [])
        self.assertEqual(self.ok("/api/0/last?user=alice&device=phone", self.B), [])
        last = self.ok("/api/0/last", self.B)
        self.assertEqual([(l["username"], l["device"]) for l in last], [("bob", "bobphone")])
        doc = self.locations(self.B, user="alice", device="phone", **{"from": DAY, "to": DAY})
        self.assertEqual(doc["count"], 0)
        self.assertEqual(doc["data"], [])
        doc = self.locations(self.B, user="bob", device="phone", **{"from": DAY, "to": DAY})
        self.assertEqual(doc["data"], [])
        doc = self.ok("/api/0/locations?from=2024-05-01", self.B,
                      headers={"X-Limit-User": "alice", "X-Limit-Device": "phone"})
        self.assertEqual(doc["count"], 0)

    def test_empty_lists(self):
        self.assertEqual(self.ok("/api/0/list?user=carol", self.C), {"results": []})
        self.assertEqual(self.ok("/api/0/last", self.C), [])
        self.assertEqual(self.ok("/api/0/last?user=carol", self.C), [])
        doc = self.locations(self.C, user="carol", device="none", **{"from": DAY})
        self.assertEqual((doc["count"], doc["data"], doc["status"]), (0, [], 200))

    def test_last_shape(self):
        last = self.ok("/api/0/last")
        by = {l["device"]: l for l in last}
        # Devices without fixes have no last position.
        self.assertEqual(sorted(by), sorted(["phone", "Anna's car"]))
        p = by["phone"]
        for k in ("lat", "lon", "tst"):
            self.assertIsInstance(p[k], (int, float), k)
        self.assertIsInstance(p["tst"], int)
        self.assertEqual(p["tst"], epoch("2024-05-02T00:00:00Z"))
        self.assertEqual((p["lat"], p["lon"]), (52.54, 13.44))
        self.assertEqual(p["username"], "alice")
        self.assertEqual(p["topic"], "owntracks/alice/phone")
        self.assertEqual(p["_type"], "location")
        self.assertEqual(p["isotst"], "2024-05-02T00:00:00Z")
        self.assertEqual(p["tid"], "ne")
        self.assertNotIn("inregions", p)
        car = by["Anna's car"]
        self.assertEqual(car["topic"], "owntracks/alice/Anna's car")
        self.assertEqual(car["vel"], 0)   # zero is a value
        self.assertEqual(car["tid"], "ar")
        one = self.ok("/api/0/last?user=alice&device=" + urllib.parse.quote("Anna's car"))
        self.assertEqual([l["device"] for l in one], ["Anna's car"])

    def test_last_units(self):
        # The first fix of "phone" carried every optional value.
        doc = self.locations(user="alice", device="phone", **{"from": "2024-05-01T10:00:00",
                                                               "to": "2024-05-01T10:00:00"})
        self.assertEqual(doc["count"], 1)
        f = doc["data"][0]
        self.assertEqual(f["vel"], 18)       # 5 m/s in km/h, an integer as OwnTracks sends
        self.assertEqual(f["batt"], 87)
        self.assertIsInstance(f["batt"], int)
        self.assertEqual(f["acc"], 12)
        self.assertEqual(f["alt"], 34.5)
        self.assertEqual(f["cog"], 90)
        self.assertEqual(f["tst"], epoch("2024-05-01T10:00:00Z"))

    def test_locations_range(self):
        doc = self.locations(user="alice", device="phone",
                             **{"from": "2024-05-01T10:00:00", "to": "2024-05-01T10:00:20"})
        self.assertEqual(doc["status"], 200)
        self.assertEqual(doc["count"], 3)     # `to` is inclusive
        self.assertEqual(len(doc["data"]), 3)
        tsts = [d["tst"] for d in doc["data"]]
        self.assertEqual(tsts, sorted(tsts))
        self.assertEqual(tsts[-1], epoch("2024-05-01T10:00:20Z"))
        # A bare date as `to` is that whole day; the next midnight is not in it.
        doc = self.locations(user="alice", device="phone", **{"from": DAY, "to": DAY})
        self.assertEqual(doc["count"], 4)
        self.assertEqual(doc["data"][-1]["isotst"], "2024-05-01T23:59:59Z")
        doc = self.locations(user="alice", device="phone", **{"from": DAY, "to": "2024-05-02"})
        self.assertEqual(doc["count"], 5)
        # No `to`: up to now (and beyond); no `from`: the last 6 hours.
        doc = self.locations(user="alice", device="phone", **{"from": "2024-04-01"})
        self.assertEqual(doc["count"], 5)
        doc = self.locations(user="alice", device="phone")
        self.assertEqual(doc["count"], 0)
        for d in doc["data"]:
            self.assertEqual(d["_type"], "location")

    def test_locations_like_frontend(self):
        # OwnTracks Frontend: from/to as UTC "YYYY-MM-DDTHH:MM:SS", format=json.
        q = {"from": "2024-04-30T00:00:00", "to": "2024-05-01T23:59:59", "user": "alice",
             "device": "Anna's car", "format": "json"}
        doc = self.ok("/api/0/locations?" + urllib.parse.urlencode(q))
        self.assertEqual(doc["count"], 1)
        d = doc["data"][0]
        self.assertEqual((d["lat"], d["lon"]), (48.1, 11.5))

    def test_locations_params(self):
        base = {"user": "alice", "device": "phone", "from": DAY, "to": "2024-05-02"}
        doc = self.locations(limit=2, **base)
        self.assertEqual([d["isotst"] for d in doc["data"]],
                         ["2024-05-01T23:59:59Z", "2024-05-02T00:00:00Z"])
        doc = self.locations(fields="lat,tst", **base)
        self.assertEqual(set(doc["data"][0]), {"lat", "tst"})
        # The Recorder's docs use POST forms (curl -d) and X-Limit-* headers.
        st, _, doc = self.get("/api/0/locations", method="POST",
                              body=urllib.parse.urlencode(base),
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual((st, doc["count"]), (200, 5))
        doc = self.ok("/api/0/locations?from=2024-05-01&to=2024-05-02",
                      headers={"X-Limit-User": "alice", "X-Limit-Device": "phone"})
        self.assertEqual(doc["count"], 5)
        st, hdrs, body = self.get("/api/0/locations?" + urllib.parse.urlencode(
            dict(base, format="gpx")))
        self.assertEqual(st, 200)
        self.assertEqual(body.count(b"<trkpt"), 5)
        for bad in ({"from": "2024-13-01"}, {"to": "yesterday"}, {"limit": "x"},
                    {"format": "xml"}, {"from": "2024-05-02", "to": "2024-05-01"}):
            st, _, doc = self.get("/api/0/locations?" + urllib.parse.urlencode(
                dict(base, **bad)))
            self.assertEqual(st, 400, bad)
            self.assertIn("error", doc)
        st, _, doc = self.get("/api/0/locations?user=alice")
        self.assertEqual(st, 400)

    # ---- /ws/last

    def test_ws_bad_handshakes(self):
        auth = {"Authorization": basic(*self.A)}
        for h, key in (({"Sec-WebSocket-Version": "8"}, None),
                       ({"Sec-WebSocket-Key": None}, None),
                       ({}, "too-short"),
                       ({"Upgrade": None}, None)):
            st, hdrs, ws, _ = WS.handshake(self.m.wport, dict(auth, **h), key=key)
            self.assertEqual(st, 400, h)
            self.assertEqual(hdrs.get("sec-websocket-version"), "13")
        st, _, ws, _ = WS.handshake(self.m.wport, dict(auth, Origin="https://evil.example"))
        self.assertEqual(st, 403)
        st, _, ws, _ = WS.handshake(self.m.wport, dict(auth, **{"Sec-Fetch-Site": "cross-site"}))
        self.assertEqual(st, 403)
        st, _, ws, _ = WS.handshake(self.m.wport, dict(auth, Origin="http://127.0.0.1:%d"
                                                       % self.m.wport))
        self.assertEqual(st, 101)
        ws.close()

    def test_ws_last(self):
        ws = self.ws()
        ws.send(0x1, "LAST")
        frames = ws.texts(2)
        self.assertEqual(sorted(f["device"] for f in frames), ["Anna's car", "phone"])
        for f in frames:
            self.assertEqual(f["_type"], "location")
            self.assertEqual(f["username"], "alice")
            self.assertIsInstance(f["lat"], float)
            self.assertIsInstance(f["tst"], int)
            walk_no_null(self, f, "frame")
        self.assertIsNone(ws.text(0.5), "one frame per device")
        # Bob's LAST: his device only.
        wb = self.ws(self.B)
        wb.send(0x1, "LAST")
        self.assertEqual([f["device"] for f in wb.texts(1)], ["bobphone"])
        self.assertIsNone(wb.text(0.5))

    def test_ws_push(self):
        ws = self.ws()
        wb = self.ws(self.B)
        time.sleep(0.2)
        self.post("alice", "live", "2024-06-01T12:00:00Z", 1.25, 2.5, speed=10)
        f = ws.text(2.0)
        self.assertIsNotNone(f, "no frame within 2 s of a stored fix")
        self.assertEqual((f["_type"], f["device"], f["username"]), ("location", "live", "alice"))
        self.assertEqual((f["lat"], f["lon"], f["vel"]), (1.25, 2.5, 36))
        self.assertEqual(f["topic"], "owntracks/alice/live")
        self.assertIsNone(wb.text(1.0), "Bob got Alice's fix")

    def test_ws_ping_and_idle_exemption(self):
        ws = self.ws()
        # A plain keep-alive HTTP connection idle as long is closed.
        plain = self.m.connect(self.m.wport)
        self.addCleanup(plain.close)
        plain.sendall(b"GET /api/0/version HTTP/1.1\r\nHost: x\r\nAuthorization: "
                      + basic(*self.A).encode() + b"\r\n\r\n")
        t0 = time.monotonic()
        self.assertIsNone(ws.text(IDLE * 2 + 0.5))
        self.assertGreaterEqual(ws.pings, 1, "no ping within %s s" % (IDLE * 2))
        self.assertTrue(is_closed(plain, 0.5), "idle HTTP connection still open")
        # Still alive after more than twice the idle timeout.
        self.assertGreater(time.monotonic() - t0, IDLE * 2)
        ws.send(0x1, "LAST")
        self.assertEqual(len(ws.texts(2)), 2)

    def test_ws_close_handshake(self):
        ws = self.ws()
        ws.send(0x8, struct.pack("!H", 1000))
        op, payload = ws.frame(2)
        self.assertEqual(op, 0x8)
        with self.assertRaises(WSClosed):
            ws.frame(2)

    def test_ws_silent_client_dropped(self):
        # A client that answers no ping (gone without a FIN) is closed
        # after three ping intervals.
        ws = self.ws()
        deadline = time.monotonic() + IDLE * 5 / 6 * 3 + 3
        closed = False
        while time.monotonic() < deadline:
            try:
                ws.frame(max(0.01, deadline - time.monotonic()))
            except (WSClosed, ConnectionResetError):
                closed = True
                break
            except socket.timeout:
                break
        self.assertTrue(closed, "a client that answers no ping stays connected")


class OwnTracksShutdown(ServerCase):
    """Stopping the server with /ws/last sockets open frees everything
    (ServerCase fails on a sanitizer report or an unclean exit)."""
    conf = {"idle_timeout": IDLE}
    open_sockets = []

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            for ws in cls.open_sockets:
                ws.close()

    def test_stop_with_open_websockets(self):
        for _ in range(3):
            st, _, ws, body = WS.handshake(self.m.wport,
                                           {"Authorization": basic(*self.users[0])})
            self.assertEqual(st, 101, body)
            self.open_sockets.append(ws)
            ws.send(0x1, "LAST")
        self.assertIsNone(self.open_sockets[0].text(0.3))   # no devices, no frames


if __name__ == "__main__":
    unittest.main()
