"""Slow and greedy clients (docs/design.md "Ports, binding, connections"):
a request must arrive whole within request_timeout of its first byte (plus
time for body bytes received), one address holds at most
max_connections_per_address connections, and request bodies being received
are capped per address. Before these limits, 1,024 connections sending a
header line every 20 s held both ports for ever: the idle timer is re-armed
by every byte.

Attackers connect from 127.0.0.9 (Linux routes all of 127/8 to lo); the
phone and the browser keep using 127.0.0.1."""
import socket
import threading
import time

from harness import ServerCase, recv_responses

USER, PASSWORD = "alice", "alice-secret-1"
ATTACKER = "127.0.0.9"


def connect_from(port, source, timeout=5):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                    source_address=(source, 0))


def time_to_close(s, limit):
    """(seconds until the server closed s, bytes it sent first), or (None, data)."""
    t0 = time.monotonic()
    s.settimeout(0.2)
    data = b""
    while time.monotonic() - t0 < limit:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return time.monotonic() - t0, data
        if not chunk:
            return time.monotonic() - t0, data
        data += chunk
    return None, data


class Trickle(threading.Thread):
    """Sends one more header line on every socket each `every` seconds,
    never finishing the request: the slowloris attack."""

    def __init__(self, socks, every):
        super().__init__(daemon=True)
        self.socks = list(socks)
        self.every = every
        self.stop = threading.Event()

    def run(self):
        for i, s in enumerate(self.socks):
            try:
                s.sendall(b"GET /osmand?n=%d HTTP/1.1\r\nHost: x\r\n" % i)
            except OSError:
                pass
        n = 0
        while not self.stop.wait(self.every):
            n += 1
            for s in self.socks:
                try:
                    s.sendall(b"X-Slow-%d: 1\r\n" % n)
                except OSError:
                    pass


class SlowClients(ServerCase):
    users = ((USER, PASSWORD),)
    conf = {"idle_timeout": 5, "request_timeout": 2, "max_connections": 200,
            "max_connections_per_address": 25}

    @classmethod
    def prepare(cls):
        cls.tok = cls.m.add_device(USER, "phone")["token"]

    def osmand(self, i):
        st, _, _ = self.m.request("GET", "/osmand?token=%s&lat=52.5&lon=13.4&timestamp=%d"
                                  % (self.tok, 1700000000 + i), timeout=5)
        return st

    def test_trickled_head_gets_408(self):
        """A header line every second (within the 5 s idle timeout) no longer
        keeps a request open: 408 and close after request_timeout (2 s)."""
        s = connect_from(self.m.rport, "127.0.0.1")
        self.addCleanup(s.close)
        t = Trickle([s], 0.5)
        t.start()
        self.addCleanup(t.stop.set)
        dt, data = time_to_close(s, 10)
        self.assertIsNotNone(dt, "a trickled request head was kept open for 10 s")
        self.assertLess(dt, 5, "closed only after %.1f s" % dt)
        self.assertTrue(data.startswith(b"HTTP/1.1 408 "), data[:80])

    def test_trickled_body_gets_408(self):
        """A body sent at 20 bytes a second: closed once request_timeout plus
        the time its bytes earn (1 s per 8 KiB) is up."""
        s = connect_from(self.m.wport, "127.0.0.1")
        self.addCleanup(s.close)
        s.sendall(b"POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 1000\r\n\r\n")
        stop = threading.Event()
        self.addCleanup(stop.set)

        def drip():
            while not stop.wait(0.5):
                try:
                    s.sendall(b"x" * 10)
                except OSError:
                    return
        threading.Thread(target=drip, daemon=True).start()
        dt, data = time_to_close(s, 10)
        self.assertIsNotNone(dt, "a trickled body was kept open for 10 s")
        self.assertLess(dt, 5)
        self.assertTrue(data.startswith(b"HTTP/1.1 408 "), data[:80])

    def test_fast_upload_is_not_cut(self):
        """The deadline grows with the body received: a 2 MiB body sent in
        3 s (well above 8 KiB/s) is served although it outlasts
        request_timeout."""
        body = b'{"locations":[]}' + b" " * (2 * 1024 * 1024)
        s = connect_from(self.m.rport, "127.0.0.1", timeout=10)
        self.addCleanup(s.close)
        s.sendall(b"POST /overland?token=%s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % (self.tok.encode(), len(body)))
        step = len(body) // 30
        for i in range(0, len(body), step):
            s.sendall(body[i:i + step])
            time.sleep(0.1)
        resps, _ = recv_responses(s, 1, timeout=10)
        self.assertTrue(resps, "no answer to a steady 2 MiB upload")
        self.assertEqual(resps[0][0], 200, resps[0])

    def test_one_address_cannot_take_every_slot(self):
        """225 slowloris connections per port from one address against
        servers of 200: it gets 25 on each, the phone and the page from
        another address keep being served, and the 25 are cut after
        request_timeout."""
        socks = []
        self.addCleanup(lambda: [s.close() for s in socks])
        for port in (self.m.rport, self.m.wport):
            for _ in range(225):
                try:
                    socks.append(connect_from(port, ATTACKER, timeout=2))
                except OSError:
                    pass
        t = Trickle(socks, 0.5)
        t.start()
        self.addCleanup(t.stop.set)
        time.sleep(0.5)
        for i in range(5):
            t0 = time.monotonic()
            self.assertEqual(self.osmand(i), 200)
            st, _, _ = self.m.request("GET", "/", port=self.m.wport, timeout=5)
            self.assertEqual(st, 200)
            self.assertLess(time.monotonic() - t0, 3, "a phone waited during the attack")
            time.sleep(0.3)
        # Of the attacker's connections, the ones beyond its share were
        # closed at once, the others after request_timeout.
        deadline = time.monotonic() + 8
        open_left = socks
        while open_left and time.monotonic() < deadline:
            still = []
            for s in open_left:
                s.settimeout(0)
                try:
                    if s.recv(65536):
                        still.append(s)   # a 408 first; the close follows
                except BlockingIOError:
                    still.append(s)
                except OSError:
                    pass
            open_left = still
            time.sleep(0.2)
        self.assertEqual(len(open_left), 0, "%d attack connections still open" % len(open_left))
        self.assertIn("too many connections from this address", self.m.log())


class BodyBudget(ServerCase):
    """Bodies being received are capped per address (32 MiB): five
    unfinished 7.5 MiB Overland uploads from one address held 37.5 MiB
    before; now the one past the cap gets 503 and is closed, and uploads
    from elsewhere go on."""
    users = ((USER, PASSWORD),)

    @classmethod
    def prepare(cls):
        cls.tok = cls.m.add_device(USER, "phone")["token"]

    def test_unfinished_uploads_capped_per_address(self):
        part = 7 * 1024 * 1024 + 512 * 1024
        socks = []
        self.addCleanup(lambda: [s.close() for s in socks])
        head = (b"POST /overland?token=%s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % (self.tok.encode(), 8 * 1024 * 1024 - 1))
        refused = []
        for i in range(5):
            s = connect_from(self.m.rport, ATTACKER, timeout=10)
            socks.append(s)
            s.sendall(head)
            try:
                s.sendall(b" " * part)
            except OSError:
                pass
            time.sleep(0.3)
            dt, data = time_to_close(s, 0.5)
            if dt is not None:
                refused.append((i, data[:40]))
        self.assertEqual(len(refused), 1, refused)
        self.assertTrue(refused[0][1].startswith(b"HTTP/1.1 503 "), refused)
        # Another address is not affected.
        st, _, _ = self.m.request("POST", "/overland?token=" + self.tok,
                                  body=b'{"locations":[]}' + b" " * part,
                                  headers={"Content-Type": "application/json"})
        self.assertEqual(st, 200)
