"""Connection behaviour of the receiver: keep-alive, pipelining, slow
clients, idle timeouts, many simultaneous connections, concurrency."""
import http.client
import json
import resource
import socket
import threading
import time
import unittest

from harness import Mintrac, ServerCase, recv_responses, is_closed

USER = "alice"
PASSWORD = "alice-secret-1"


def get(path):
    return ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode()


class Connections(ServerCase):
    users = ((USER, PASSWORD),)


    def count(self, name):
        return self.m.device_count(name, USER, PASSWORD)

    def test_log_says_where_each_server_listens(self):
        log = self.m.log()
        r = "127.0.0.1:%d" % self.m.rport
        w = "127.0.0.1:%d" % self.m.wport
        self.assertTrue(any("receiver" in l and r in l for l in log.splitlines()),
                        "no log line names the receiver and %s:\n%s" % (r, log))
        self.assertTrue(any("webapp" in l and w in l for l in log.splitlines()),
                        "no log line names the webapp and %s:\n%s" % (w, log))

    def test_head_ulogger_probe(self):
        st, hdrs, data = self.m.request("HEAD", "/client/index.php")
        self.assertEqual(st, 200)
        self.assertEqual(data, b"")

    def test_unknown_path_404(self):
        for method, path in [("GET", "/nope"), ("POST", "/api/v2/whatever"), ("GET", "/osmandx?token=x")]:
            with self.subTest(path):
                st, _, data = self.m.request(method, path, body=b"" if method == "POST" else None)
                self.assertEqual(st, 404, data)
        st, _, data = self.m.request("GET", "/no/such/page", port=self.m.wport)
        self.assertEqual(st, 404, data)

    def test_404_keeps_connection(self):
        name, tok = self.device()
        with self.m.connect() as s:
            s.sendall(get("/nope") + get("/osmand?token=%s&lat=1&lon=2&timestamp=1714558530000" % tok))
            resps, eof = recv_responses(s, 2)
        self.assertEqual([r[0] for r in resps], [404, 200])

    def test_connection_close_and_http10(self):
        name, tok = self.device()
        for what, req in [
                ("Connection: close", "GET /osmand?token=%s&lat=1&lon=2&timestamp=1714558530000 HTTP/1.1\r\n"
                                      "Host: x\r\nConnection: close\r\n\r\n" % tok),
                ("HTTP/1.0", "GET /osmand?token=%s&lat=1&lon=2&timestamp=1714558531000 HTTP/1.0\r\n\r\n" % tok)]:
            with self.subTest(what):
                with self.m.connect() as s:
                    s.sendall(req.encode())
                    resps, eof = recv_responses(s, 1)
                    self.assertEqual([r[0] for r in resps], [200])
                    self.assertTrue(eof or is_closed(s, 3), "%s: connection left open" % what)
        self.assertEqual(self.count(name), 2)

    def test_unparseable_request_400_and_closed(self):
        name, tok = self.device()
        for what, junk in [("garbage", b"HELLO WORLD\r\n\r\n"),
                           ("bad version", b"GET / HTTP/9.9x\r\n\r\n"),
                           ("bad content-length", b"POST /overland HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")]:
            with self.subTest(what):
                with self.m.connect() as s:
                    s.sendall(junk + get("/osmand?token=%s&lat=1&lon=2&timestamp=1714558540000" % tok))
                    resps, eof = recv_responses(s, 2, timeout=5)
                    closed = eof or is_closed(s, 3)
                self.assertTrue(resps, "%s: no reply" % what)
                self.assertEqual(resps[0][0], 400, what)
                self.assertEqual(len(resps), 1, "%s: request after a framing error was served" % what)
                self.assertTrue(closed, "%s: connection must be closed after a framing error" % what)
        self.assertEqual(self.count(name), 0)
        st, _, _ = self.m.request("GET", "/osmand?token=%s&lat=1&lon=2&timestamp=1714558540000" % tok)
        self.assertEqual(st, 200)

    def test_chunked_request_body(self):
        name, tok = self.device()
        body = ('{"locations":[{"type":"Feature","geometry":{"type":"Point","coordinates":[13.4,52.5]},'
                '"properties":{"timestamp":"2024-05-01T10:15:30Z"}}]}').encode()
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 40]), body[i:i + 40]) for i in range(0, len(body), 40))
        req = (b"POST /overland HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Authorization: Bearer " + tok.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n")
        with self.m.connect() as s:
            s.sendall(req + get("/nope"))
            resps, eof = recv_responses(s, 2)
        self.assertEqual([r[0] for r in resps], [200, 404])
        self.assertEqual(json.loads(resps[0][2]), {"result": "ok"})
        self.assertEqual(self.count(name), 1)

    def test_keepalive_1000_requests(self):
        name, tok = self.device()
        conn = http.client.HTTPConnection("127.0.0.1", self.m.rport, timeout=10)
        self.addCleanup(conn.close)
        t0 = time.monotonic()
        sock = None
        for i in range(1000):
            conn.request("GET", "/osmand?token=%s&lat=52.5&lon=13.4&timestamp=%d" % (tok, 1600000000000 + i * 1000))
            resp = conn.getresponse()
            resp.read()
            self.assertEqual(resp.status, 200, "request %d" % i)
            if sock is None:
                sock = conn.sock
            self.assertIs(conn.sock, sock, "connection was closed after request %d" % i)
            self.assertLess(time.monotonic() - t0, 60, "1000 keep-alive requests too slow")
        self.assertEqual(self.count(name), 1000)

    def test_pipelining_10_in_order(self):
        name, tok = self.device()
        reqs = []
        expect = []
        for i in range(10):
            if i % 3 == 1:
                reqs.append(get("/osmand?token=%s&lat=abc&lon=13.4&timestamp=%d" % (tok, 1600000000000 + i * 1000)))
                expect.append(400)
            elif i % 3 == 2:
                reqs.append(get("/nope%d" % i))
                expect.append(404)
            else:
                reqs.append(get("/osmand?token=%s&lat=52.5&lon=13.4&timestamp=%d" % (tok, 1600000000000 + i * 1000)))
                expect.append(200)
        with self.m.connect() as s:
            s.sendall(b"".join(reqs))
            resps, eof = recv_responses(s, 10, timeout=10)
        self.assertEqual([r[0] for r in resps], expect)
        self.assertEqual(self.count(name), expect.count(200))

    def test_pipelined_posts_in_order(self):
        name, tok = self.device()
        data = b""
        for i in range(10):
            body = ("id=%s&lat=52.5&lon=13.4&timestamp=%d" % (tok, 1600000000 + i)).encode()
            data += (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body)) + body
        with self.m.connect() as s:
            s.sendall(data)
            resps, eof = recv_responses(s, 10, timeout=10)
        self.assertEqual([r[0] for r in resps], [200] * 10)
        times = [f["properties"]["time"] for f in self.m.points(name, USER, PASSWORD)]
        self.assertEqual(len(times), 10)

    def test_slow_client_does_not_block_others(self):
        name, tok = self.device()
        slow = self.m.connect()
        self.addCleanup(slow.close)
        req = get("/osmand?token=%s&lat=52.5&lon=13.4&timestamp=1500000000000" % tok)
        stop = threading.Event()
        sent = [0]

        def dribble():
            try:
                for b in req[:-1]:
                    if stop.is_set():
                        return
                    slow.sendall(bytes([b]))
                    sent[0] += 1
                    stop.wait(1.0)
            except OSError:
                pass
        t = threading.Thread(target=dribble, daemon=True)
        t.start()
        self.addCleanup(t.join, 3)
        self.addCleanup(stop.set)
        time.sleep(1.5)          # the slow request is under way
        conn = http.client.HTTPConnection("127.0.0.1", self.m.rport, timeout=5)
        self.addCleanup(conn.close)
        t0 = time.monotonic()
        for i in range(100):
            conn.request("GET", "/osmand?token=%s&lat=52.5&lon=13.4&timestamp=%d" % (tok, 1600000000000 + i * 1000))
            resp = conn.getresponse()
            resp.read()
            self.assertEqual(resp.status, 200)
        elapsed = time.monotonic() - t0
        self.assertGreaterEqual(sent[0], 1)
        self.assertLess(elapsed, 2.0, "100 requests took %.2f s while a slow client dribbled" % elapsed)
        # the slow client, once complete, is served too
        stop.set()
        t.join(3)
        slow.settimeout(5)
        slow.sendall(req[sent[0]:])
        resps, eof = recv_responses(slow, 1, timeout=5)
        self.assertEqual([r[0] for r in resps], [200])

    def test_concurrency_16x50(self):
        name, tok = self.device()
        errors = []
        statuses = []
        lock = threading.Lock()

        def worker(k):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.m.rport, timeout=20)
                try:
                    for i in range(50):
                        ts = 1650000000000 + (k * 50 + i) * 1000
                        conn.request("GET", "/osmand?token=%s&lat=%.7f&lon=13.4&timestamp=%d"
                                     % (tok, 50 + k * 0.01 + i * 1e-4, ts))
                        r = conn.getresponse()
                        r.read()
                        with lock:
                            statuses.append(r.status)
                finally:
                    conn.close()
            except Exception as e:          # noqa: BLE001 -- reported below
                with lock:
                    errors.append(repr(e))
        ths = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(16)]
        for t in ths:
            t.start()
        for t in ths:
            t.join(30)
        self.assertEqual(errors, [])
        self.assertEqual(len(statuses), 800)
        self.assertTrue(all(200 <= s < 300 for s in statuses), sorted(set(statuses)))
        self.assertEqual(self.count(name), 800)
        self.assertEqual(len(self.m.points(name, USER, PASSWORD)), 800)

    def test_1024_simultaneous_connections(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = 4096
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard) if hard != resource.RLIM_INFINITY
                                                         else want, hard))
        name, tok = self.device()
        socks = []

        def close_all():
            for s in socks:
                s.close()
        self.addCleanup(close_all)
        deadline = time.monotonic() + 15
        for i in range(1024):
            # From 16 addresses: one address may hold only 1/8 of them.
            s = socket.create_connection(("127.0.0.1", self.m.rport), timeout=10,
                                         source_address=("127.0.0.%d" % (1 + i % 16), 0))
            socks.append(s)
            self.assertLess(time.monotonic(), deadline, "connecting took too long (%d)" % i)
        # all connected and (given time) accepted; none refused or closed
        time.sleep(0.5)
        for i, s in enumerate(socks):
            s.sendall(get("/osmand?token=%s&lat=52.5&lon=13.4&timestamp=%d" % (tok, 1610000000000 + i * 1000)))
        bad = []
        for i, s in enumerate(socks):
            left = max(0.5, deadline + 10 - time.monotonic())
            resps, eof = recv_responses(s, 1, timeout=left)
            if not resps or resps[0][0] != 200:
                bad.append((i, resps[0][0] if resps else "no reply", eof))
        self.assertEqual(bad[:10], [], "%d of 1024 connections not served" % len(bad))
        self.assertEqual(self.count(name), 1024)


class IdleTimeout(ServerCase):
    users = ((USER, PASSWORD),)
    conf = {"idle_timeout": 2}

    @classmethod
    def prepare(cls):
        cls.tok = cls.m.add_device(USER, "phone")["token"]

    def _time_to_close(self, s, limit=8):
        """Seconds until the server closes s (data such as a 408 is allowed first)."""
        t0 = time.monotonic()
        s.settimeout(limit)
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
        except socket.timeout:
            return None
        except ConnectionResetError:
            pass
        return time.monotonic() - t0

    def test_silent_connection_closed(self):
        with self.m.connect() as s:
            dt = self._time_to_close(s)
        self.assertIsNotNone(dt, "a silent connection was not closed within 8 s (idle_timeout = 2)")
        self.assertGreater(dt, 1.0, "closed too early")
        self.assertLess(dt, 5.0)

    def test_partial_request_closed(self):
        with self.m.connect() as s:
            s.sendall(b"GET /osmand?token=" + self.tok.encode() + b"&lat=52.5")
            dt = self._time_to_close(s)
        self.assertIsNotNone(dt, "a connection with a partial request was not closed within 8 s")
        self.assertGreater(dt, 1.0)
        self.assertLess(dt, 5.0)

    def test_idle_after_response_closed(self):
        with self.m.connect() as s:
            s.sendall(get("/client/index.php"))
            resps, eof = recv_responses(s, 1)
            self.assertTrue(resps)
            self.assertFalse(eof)
            dt = self._time_to_close(s)
        self.assertIsNotNone(dt, "an idle keep-alive connection was not closed")
        self.assertLess(dt, 5.0)

    def test_busy_connection_kept(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.m.rport, timeout=5)
        self.addCleanup(conn.close)
        sock = None
        t0 = time.monotonic()
        i = 0
        while time.monotonic() - t0 < 5:
            conn.request("GET", "/osmand?token=%s&lat=52.5&lon=13.4&timestamp=%d" % (self.tok, 1620000000000 + i * 1000))
            r = conn.getresponse()
            r.read()
            self.assertEqual(r.status, 200)
            if sock is None:
                sock = conn.sock
            self.assertIs(conn.sock, sock, "busy connection was closed after %.1f s" % (time.monotonic() - t0))
            i += 1
            time.sleep(0.5)
        self.assertFalse(is_closed(sock, 0.5), "busy connection closed")


if __name__ == "__main__":
    unittest.main()
