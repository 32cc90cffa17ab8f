"""GET /api/stream (Server-Sent Events): each fix the receiver commits reaches
the open streams of its owner, and nobody else's, within a moment; the stream
is exempt from the idle timeout and survives a webapp restart by reconnecting."""
import json
import os
import signal
import socket
import time
import urllib.parse

import harness


def osmand(m, token, lat, lon, t):
    q = urllib.parse.urlencode({"id": token, "lat": lat, "lon": lon, "timestamp": t})
    status, _, body = m.request("GET", "/osmand?" + q, port=m.rport)
    assert status == 200, (status, body)


class Stream:
    """A raw SSE client: the events parsed as they arrive."""

    def __init__(self, m, user, password, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", m.wport), timeout=timeout)
        req = ("GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: %s\r\n"
               "Accept: text/event-stream\r\n\r\n" % (m.wport, harness.basic(user, password)))
        self.sock.sendall(req.encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise AssertionError("stream closed before its headers: %r" % self.buf)
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        self.head = head.decode("iso-8859-1")
        self.text = ""

    def _dechunk(self):
        # Move whole chunks from self.buf into self.text.
        while True:
            line, sep, rest = self.buf.partition(b"\r\n")
            if not sep:
                return
            size = int(line.split(b";")[0], 16)
            if len(rest) < size + 2:
                return
            self.text += rest[:size].decode("utf-8")
            self.buf = rest[size + 2:]

    def events(self, want, timeout=5):
        """Wait until `want` fix events arrived; return them (parsed)."""
        deadline = time.monotonic() + timeout
        while True:
            blocks = [b for b in self.text.split("\n\n")[:-1] if b.startswith("event: fix")]
            if len(blocks) >= want:
                out = []
                for b in blocks:
                    fields = dict(l.split(": ", 1) for l in b.split("\n") if ": " in l)
                    out.append((fields["id"], json.loads(fields["data"])))
                return out
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("%d fix events expected, stream so far: %r"
                                     % (want, self.text))
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise AssertionError("stream closed; so far: %r" % self.text)
            self.buf += chunk
            self._dechunk()

    def close(self):
        self.sock.close()


class StreamTest(harness.ServerCase):
    users = (("alice", "alice-secret-1"), ("bob", "bob-secret-22"))
    conf = {"idle_timeout": "2"}

    def test_fix_arrives_as_event(self):
        name, token = self.device()
        s = Stream(self.m, "alice", "alice-secret-1")
        try:
            self.assertIn(" 200 ", s.head.splitlines()[0])
            self.assertIn("text/event-stream", s.head.lower())
            t0 = time.monotonic()
            osmand(self.m, token, 52.52, 13.405, 1763900000)
            (eid, feat), = s.events(1, timeout=2)
            self.assertLess(time.monotonic() - t0, 2.0)
            self.assertEqual(eid, "1763900000000")
            self.assertEqual(feat["type"], "Feature")
            self.assertEqual(feat["geometry"]["coordinates"][:2], [13.405, 52.52])
            self.assertEqual(feat["properties"]["device"], name)
            self.assertEqual(feat["properties"]["time"], "2025-11-23T12:13:20.000Z")
        finally:
            s.close()

    def test_other_users_fixes_not_seen(self):
        _, token = self.device()
        bob_dev = self.m.add_device("bob", "bobs-phone")
        s = Stream(self.m, "alice", "alice-secret-1")
        try:
            osmand(self.m, bob_dev["token"], 48.1, 11.5, 1763900100)
            osmand(self.m, token, 48.2, 11.6, 1763900200)
            events = s.events(1, timeout=3)
            self.assertEqual(len(events), 1)
            self.assertEqual(events[0][0], "1763900200000")
        finally:
            s.close()

    def test_many_fixes_in_order_and_exempt_from_idle(self):
        _, token = self.device()
        s = Stream(self.m, "alice", "alice-secret-1")
        try:
            time.sleep(3)   # longer than idle_timeout: the stream stays
            for i in range(20):
                osmand(self.m, token, 50 + i / 1000, 8, 1763901000 + i)
            events = s.events(20, timeout=5)
            self.assertEqual([e[0] for e in events],
                             [str((1763901000 + i) * 1000) for i in range(20)])
        finally:
            s.close()

    def test_requires_auth(self):
        status, headers, _ = self.m.request("GET", "/api/stream", port=self.m.wport)
        self.assertEqual(status, 401)
        self.assertNotIn("www-authenticate", {k.lower() for k in headers})

    def test_webapp_restart_then_stream_again(self):
        _, token = self.device()
        pidfile = os.path.join(self.m.datadir, "webapp.pid")
        with open(pidfile) as f:
            pid = int(f.read().split()[0])
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while True:
            try:
                s = Stream(self.m, "alice", "alice-secret-1", timeout=5)
                break
            except (OSError, AssertionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        try:
            osmand(self.m, token, 40.4, -3.7, 1763902000)
            (eid, _), = s.events(1, timeout=3)
            self.assertEqual(eid, "1763902000000")
        finally:
            s.close()
