"""Live streams (/api/stream, /ws/last) are bounded (docs/design.md, Webapp):
they end within a few seconds once the credential they were opened with
is gone (logout, `user passwd` from another process, the user deleted);
a user and a client address hold at most max_streams_per_user /
max_streams_per_address of them (429 past that); a reader that stops
reading never has more than 1 MiB queued, however big the event; and a
fix's attributes are capped at ingest (400)."""
import hashlib
import json
import os
import socket
import sqlite3
import struct
import time

import harness
import test_owntracks_api as ot
import test_webapp_auth as wa

# streams.h: STREAMS_CHECK_SECONDS (2 s) plus the query and the CLI's own
# time; what the contract promises is "within a few seconds".
END_WITHIN = 5.0


def open_sse(m, headers, rcvbuf=None):
    """(status line, socket) of GET /api/stream with these headers; the
    socket is positioned after the response head."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        # A small window keeps the kernel from taking the queue off the server.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", m.wport))
    h = {"Host": "127.0.0.1:%d" % m.wport, "Accept": "text/event-stream"}
    h.update(headers)
    sock.sendall(("GET /api/stream HTTP/1.1\r\n" +
                  "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            break
        head += chunk
    return head.split(b"\r\n")[0].decode("latin-1"), sock, head


def sse_basic(m, user, password, **kw):
    return open_sse(m, {"Authorization": harness.basic(user, password)}, **kw)


def seconds_until_eof(sock, timeout):
    """Seconds until the server closes sock, reading whatever comes; None
    when it is still open after timeout."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            if not sock.recv(65536):
                return time.monotonic() - t0
        except socket.timeout:
            return None
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - t0


def ws_basic(m, user, password, headers=None):
    h = {"Authorization": harness.basic(user, password)}
    h.update(headers or {})
    return ot.WS.handshake(m.wport, h)


def ws_close_code(ws, timeout):
    """(code, reason, seconds) of the server's close frame; None if none
    came in time."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            op, payload = ws.frame(left)
        except (socket.timeout, ot.WSClosed):
            return None
        if op == 0x9:
            ws.send(0xA, payload)
        elif op == 0x8:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            return code, payload[2:].decode("utf-8", "replace"), time.monotonic() - t0


class StreamCredentialTest(harness.ServerCase):
    """A stream ends when its credential does, within END_WITHIN seconds."""
    users = (("alice", "alice-secret-1"), ("bob", "bob-secret-22"),
             ("carol", "carol-secret-3"), ("dave", "dave-secret-44"),
             ("erin", "erin-secret-55"), ("frank", "frank-secret-6"))

    def passwd(self, user, password):
        self.m.cli("user", "passwd", user, "--password-stdin", stdin=password + "\n")

    def test_basic_stream_ends_after_passwd(self):
        status, sock, _ = sse_basic(self.m, "alice", "alice-secret-1")
        other_status, other, _ = sse_basic(self.m, "bob", "bob-secret-22")
        try:
            self.assertIn(" 200 ", status)
            self.assertIn(" 200 ", other_status)
            # The checks leave a stream whose credential holds alone.
            self.assertIsNone(seconds_until_eof(sock, 2.5), "ended with its password unchanged")
            self.passwd("alice", "alice-secret-new")
            took = seconds_until_eof(sock, END_WITHIN)
            self.assertIsNotNone(took, "stream still open %s s after `user passwd`" % END_WITHIN)
            self.assertIsNone(seconds_until_eof(other, 0.5), "another user's stream ended")
            # The EventSource's reconnect with the old password is refused.
            st, sock2, _ = sse_basic(self.m, "alice", "alice-secret-1")
            sock2.close()
            self.assertIn(" 401 ", st)
        finally:
            sock.close()
            other.close()

    def test_session_stream_ends_on_logout(self):
        b = wa.Browser(self.m, "carol", "carol-secret-3")
        status, sock, _ = open_sse(self.m, {"Cookie": b.cookie})
        try:
            self.assertIn(" 200 ", status)
            st, _, doc = b.call("POST", "/api/logout")
            self.assertEqual(st, 200, doc)
            took = seconds_until_eof(sock, END_WITHIN)
            self.assertIsNotNone(took, "stream still open %s s after logout" % END_WITHIN)
        finally:
            sock.close()

    def test_session_stream_ends_after_passwd_from_the_cli(self):
        b = wa.Browser(self.m, "dave", "dave-secret-44")
        keep = wa.Browser(self.m, "bob", "bob-secret-22")
        status, sock, _ = open_sse(self.m, {"Cookie": b.cookie})
        other_status, other, _ = open_sse(self.m, {"Cookie": keep.cookie})
        try:
            self.assertIn(" 200 ", status)
            self.assertIn(" 200 ", other_status)
            self.passwd("dave", "dave-secret-new")
            self.assertIsNotNone(seconds_until_eof(sock, END_WITHIN),
                                 "session stream still open after `user passwd`")
            self.assertIsNone(seconds_until_eof(other, 0.5), "another user's stream ended")
        finally:
            sock.close()
            other.close()

    def test_ws_ends_with_1008_after_passwd(self):
        st, _, ws, body = ws_basic(self.m, "erin", "erin-secret-55")
        self.assertEqual(st, 101, body)
        try:
            self.passwd("erin", "erin-secret-new")
            got = ws_close_code(ws, END_WITHIN)
            self.assertIsNotNone(got, "no close frame %s s after `user passwd`" % END_WITHIN)
            self.assertEqual(got[0], 1008, got)
            self.assertIn("password", got[1])
        finally:
            ws.close()

    def test_stream_ends_when_user_deleted(self):
        status, sock, _ = sse_basic(self.m, "frank", "frank-secret-6")
        try:
            self.assertIn(" 200 ", status)
            self.m.cli("user", "del", "frank")
            self.assertIsNotNone(seconds_until_eof(sock, END_WITHIN),
                                 "stream still open after the user was deleted")
        finally:
            sock.close()


class StreamCapTest(harness.ServerCase):
    """Caps per user and per client address; a refused stream is a 429
    with a one-line reason, and other users still get theirs."""
    users = (("alice", "alice-secret-1"), ("bob", "bob-secret-22"),
             ("carol", "carol-secret-3"))
    conf = {"max_streams_per_user": "3", "max_streams_per_address": "5",
            "trusted_proxies": "127.0.0.1"}

    def setUp(self):
        self.socks = []

    def tearDown(self):
        for s in self.socks:
            s.close()
        # The server notices the closed sockets before the next test counts.
        time.sleep(0.3)

    def sse(self, user, password, xff=None):
        h = {"Authorization": harness.basic(user, password)}
        if xff:
            h["X-Forwarded-For"] = xff
        status, sock, head = open_sse(self.m, h)
        self.socks.append(sock)
        return status, sock, head

    def ws(self, user, password, xff=None):
        st, hdrs, ws, body = ws_basic(self.m, user, password,
                                      {"X-Forwarded-For": xff} if xff else None)
        if ws:
            self.socks.append(ws.sock)
        return st, body

    def test_per_user_cap(self):
        for _ in range(3):
            self.assertIn(" 200 ", self.sse("alice", "alice-secret-1", "198.51.100.1")[0])
        status, sock, head = self.sse("alice", "alice-secret-1", "198.51.100.2")
        self.assertIn(" 429 ", status)
        body = sock.recv(4096) if b"content-length" in head.lower() else b""
        self.assertIn(b"max_streams_per_user", body)
        # The WebSocket counts against the same cap.
        st, body = self.ws("alice", "alice-secret-1", "198.51.100.3")
        self.assertEqual(st, 429, body)
        self.assertIn(b"max_streams_per_user", body)
        # Another user is not locked out.
        self.assertIn(" 200 ", self.sse("bob", "bob-secret-22", "198.51.100.1")[0])
        st, body = self.ws("bob", "bob-secret-22", "198.51.100.1")
        self.assertEqual(st, 101, body)
        # A closed stream frees its place.
        self.socks[0].close()
        time.sleep(0.3)
        self.assertIn(" 200 ", self.sse("alice", "alice-secret-1", "198.51.100.1")[0])

    def test_per_address_cap_ipv6_64_as_one(self):
        users = [("alice", "alice-secret-1"), ("bob", "bob-secret-22"), ("carol", "carol-secret-3")]
        opened = 0
        for i in range(5):
            u = users[i % 3]
            self.assertIn(" 200 ", self.sse(*u, xff="2001:db8:1:2::%x" % (i + 1))[0])
            opened += 1
        # Same /64, another user with room left: refused for the address.
        status, sock, head = self.sse("carol", "carol-secret-3", "2001:db8:1:2:ffff::9")
        self.assertIn(" 429 ", status)
        body = sock.recv(4096)
        self.assertIn(b"max_streams_per_address", body)
        # Another /64 and the proxy's own address still get streams.
        self.assertIn(" 200 ", self.sse("carol", "carol-secret-3", "2001:db8:1:3::1")[0])


def device_id(m, name):
    db = sqlite3.connect(os.path.join(m.datadir, "mintrac.db"))
    try:
        return db.execute("SELECT id FROM devices WHERE name = ?", (name,)).fetchone()[0]
    finally:
        db.close()


def store_big_fix(m, dev_id, t_ms, attrs):
    """A fix stored as an older mintrac (no attribute cap) would have, and
    the receiver's live notice for it (net/live.c)."""
    db = sqlite3.connect(os.path.join(m.datadir, "mintrac.db"), timeout=10)
    try:
        db.execute("INSERT INTO fixes(device_id, time_ms, lat, lon, attrs) VALUES(?, ?, ?, ?, ?)",
                   (dev_id, t_ms, 52.5, 13.4, attrs))
        db.commit()
    finally:
        db.close()
    real = os.path.realpath(os.path.join(m.datadir, "mintrac.db"))
    name = b"\0mintrac-live-" + hashlib.sha256(real.encode()).hexdigest()[:24].encode()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.sendto(struct.pack("=IIqq", 0x4d544c31, 1, dev_id, t_ms), name)
    finally:
        s.close()


def vm(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no %s in /proc/%d/status" % (key, pid))


@harness.sqlite_only("writes an older mintrac's row into mintrac.db and sends the live notice named after it")
class StalledReadersTest(harness.ServerCase):
    """20 readers that never read and one fix with a 12 MiB attribute: no
    reader gets more than 1 MiB queued, so the webapp stays small."""
    conf = {"max_streams_per_user": "64", "idle_timeout": "2"}
    READERS = 20
    BIG = 12 * 1024 * 1024

    def test_big_event_never_queued_whole(self):
        name, _ = self.device()
        dev = device_id(self.m, name)
        with open(os.path.join(self.m.datadir, "webapp.pid")) as f:
            pid = int(f.read().split()[0])
        socks = []
        try:
            for _ in range(self.READERS):
                status, sock, _ = sse_basic(self.m, "alice", "alice-secret-1", rcvbuf=4096)
                self.assertIn(" 200 ", status)
                socks.append(sock)
            # A reader that reads: it must not be harmed by small events.
            status, reader, _ = sse_basic(self.m, "alice", "alice-secret-1")
            socks.append(reader)
            time.sleep(0.5)
            before = vm(pid, "VmRSS")
            store_big_fix(self.m, dev, 1763920000000,
                          json.dumps({"pad": "x" * self.BIG}, separators=(",", ":")))
            time.sleep(2.0)
            grew = vm(pid, "VmHWM") - before
            # Reading the fix back and one copy of it are fine; a copy per
            # reader (20 x 12 MiB) is what this guards against.
            self.assertLess(grew, 100 * 1024 * 1024,
                            "webapp grew by %d MiB with %d stalled readers"
                            % (grew >> 20, self.READERS))
        finally:
            for s in socks:
                s.close()


class AttributeCapTest(harness.ServerCase):
    """Attributes over 64 KiB are refused at ingest with 400 and nothing is
    stored; an import rejects such a fix and stores the rest."""

    def test_overland_big_attribute_refused(self):
        name, token = self.device()

        def post(pad):
            feat = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [13.4, 52.5]},
                    "properties": {"timestamp": "2025-11-23T12:00:00Z", "pad": pad}}
            return self.m.request("POST", "/overland", port=self.m.rport,
                                  body=json.dumps({"locations": [feat]}).encode(),
                                  headers={"Content-Type": "application/json",
                                           "Authorization": "Bearer " + token})

        st, _, body = post("x" * (70 * 1024))
        self.assertEqual(st, 400, body)
        self.assertIn(b"attributes", body)
        self.assertEqual(self.m.device_count(name, "alice", "alice-secret-1"), 0)
        st, _, body = post("x" * 1000)
        self.assertEqual(st, 200, body)
        self.assertEqual(self.m.device_count(name, "alice", "alice-secret-1"), 1)

    def test_import_big_attribute_refused(self):
        name, _ = self.device()
        path = os.path.join(self.m.root, "big.geojson")
        feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [13.4, 52.5]},
                  "properties": {"time": "2025-11-23T12:00:0%dZ" % i,
                                 "pad": "x" * (70 * 1024 if i == 1 else 10)}}
                 for i in range(2)]
        with open(path, "w") as f:
            json.dump({"type": "FeatureCollection", "features": feats}, f)
        # The oversized fix is rejected with its reason; the other is stored.
        cp = self.m.cli("import", "alice", name, path)
        self.assertIn("1 fixes read, 1 stored", cp.stdout)
        self.assertIn("big.geojson:1: attributes longer than 65536 bytes", cp.stdout)
        self.assertEqual(self.m.device_count(name, "alice", "alice-secret-1"), 1)
