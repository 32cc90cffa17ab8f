"""Bodies before credentials (issue: hardening, item 1). Before: an
unauthenticated 8 MiB `{"locations":[{},{},...]}` to /overland took the
receiver from 4 MB to 646 MB and blocked its loop for seconds before the
401. Now a credential in the head (OwnTracks, Overland, OsmAnd with a
query) is checked before the body is read: a refused request's body is
read and dropped unseen. A JSON body's tree may take a bounded multiple of
its size (proto/json_budget.h), and large bodies are decoded off the loop,
so phones keep being answered meanwhile."""
import os
import socket
import threading
import time

from harness import ServerCase

USER, PASSWORD = "alice", "alice-secret-1"
MiB = 1024 * 1024


def status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s for pid %d" % (key, pid))


def post(port, path, body, headers=None, timeout=60):
    """(status line, reply body, seconds) of one POST on its own connection."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    head = "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" \
           "Content-Length: %d\r\n" % (path, len(body))
    for k, v in (headers or {}).items():
        head += "%s: %s\r\n" % (k, v)
    t0 = time.monotonic()
    try:
        s.sendall(head.encode() + b"\r\n" + body)
    except OSError:
        pass                       # refused early: the reply is still there
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
        if b"\r\n\r\n" in data:
            hdr, _, rest = data.partition(b"\r\n\r\n")
            n = [int(l.split(b":")[1]) for l in hdr.split(b"\r\n")
                 if l.lower().startswith(b"content-length:")]
            if n and len(rest) >= n[0]:
                break
    dt = time.monotonic() - t0
    s.close()
    status, _, rest = data.partition(b"\r\n")
    return status.decode(errors="replace"), data.partition(b"\r\n\r\n")[2], dt


def empty_objects(size):
    return b'{"locations":[{}' + b',{}' * ((size - 20) // 3) + b']}'


class BodiesBeforeCredentials(ServerCase):
    users = ((USER, PASSWORD),)

    @classmethod
    def prepare(cls):
        cls.m.add_device(USER, "phone")
        cls.token = cls.m.new_token(USER, "phone")

    @classmethod
    def setUpClass(cls):
        # Peak RSS is what these tests measure: under ASan, freed memory
        # waits in a quarantine of 256 MB before reuse, so it would count
        # every byte ever allocated, not what is held at once.
        old = os.environ.get("ASAN_OPTIONS")
        os.environ["ASAN_OPTIONS"] = (old + ":" if old else "") + \
            "quarantine_size_mb=1:thread_local_quarantine_size_kb=64"
        try:
            super().setUpClass()
        finally:
            if old is None:
                del os.environ["ASAN_OPTIONS"]
            else:
                os.environ["ASAN_OPTIONS"] = old

    def pid(self):
        """The receiver's pid (its pidfile is written just after it listens)."""
        path = os.path.join(self.m.datadir, "receiver.pid")
        deadline = time.monotonic() + 5
        while True:
            try:
                with open(path) as f:
                    return int(f.read())
            except (OSError, ValueError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def test_unauthenticated_bodies_are_not_kept(self):
        pid = self.pid()
        body = empty_objects(8 * MiB)
        for path, headers in (("/overland", {}),
                              ("/overland", {"Authorization": "Bearer " + "x" * 22}),
                              ("/api/v1/overland/batches?api_key=" + "y" * 22, {}),
                              ("/owntracks", {"Authorization": "Bearer " + "z" * 22}),
                              ("/osmand?id=" + "w" * 22, {})):
            with self.subTest(path=path):
                before = status_kib(pid, "VmHWM")
                n = len(body) if "overland" in path else MiB - 64
                status, reply, _ = post(self.m.rport, path, body[:n], headers)
                self.assertIn(" 401 ", status, reply)
                grown = status_kib(pid, "VmHWM") - before
                # Nothing of the body is held: far less than the body itself.
                self.assertLess(grown * 1024, n // 2, "peak RSS grew %d KiB" % grown)
        self.assertIn("unknown credential", self.m.log())
        # The phone with its token is still served on the same port.
        status, reply, _ = post(self.m.rport, "/overland", b'{"locations":[]}',
                                {"Authorization": "Bearer " + self.token})
        self.assertIn(" 200 ", status, reply)

    def test_refused_on_a_kept_alive_connection(self):
        """The dropped body is still read, so the connection serves the
        next request."""
        s = socket.create_connection(("127.0.0.1", self.m.rport), timeout=10)
        body = b'{"_type":"location","lat":1,"lon":2,"tst":1714550400}' * 1000
        bad = ("POST /owntracks HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
               "Authorization: Bearer %s\r\n\r\n" % (len(body), "q" * 22)).encode() + body
        good = body[:53]
        ok = ("POST /owntracks HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
              "Authorization: Bearer %s\r\n\r\n" % (len(good), self.token)).encode() + good
        s.sendall(bad + ok)
        data = b""
        deadline = time.monotonic() + 10
        while data.count(b"HTTP/1.1 ") < 2 and time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 401 "), data[:200])
        self.assertIn(b"HTTP/1.1 200 ", data)

    def test_json_trees_are_bounded_and_decoded_off_the_loop(self):
        pid = self.pid()
        auth = {"Authorization": "Bearer " + self.token}
        # A batch of 2.8 M empty features: read one feature at a time,
        # each skipped (no position); meanwhile phones are answered.
        body = empty_objects(8 * MiB)
        before = status_kib(pid, "VmHWM")
        result = {}
        big = threading.Thread(target=lambda: result.update(r=post(
            self.m.rport, "/overland", body, auth)))
        big.start()
        worst = 0.0
        while big.is_alive():
            t0 = time.monotonic()
            status, reply, _ = post(self.m.rport, "/osmand?id=%s&lat=1&lon=2" % self.token, b"")
            worst = max(worst, time.monotonic() - t0)
            self.assertIn(" 200 ", status, reply)
            time.sleep(0.01)
        big.join()
        status, reply, took = result["r"]
        self.assertIn(" 200 ", status, reply)
        grown = status_kib(pid, "VmHWM") - before
        # The body and its copy for the decoder, not a tree of 2.8 M
        # objects (~640 MB before, more under ASan).
        self.assertLess(grown * 1024, 4 * len(body), "peak RSS grew %d KiB" % grown)
        self.assertLess(worst, max(0.3, took / 3),
                        "a phone waited %.0f ms while an 8 MiB body took %.0f ms"
                        % (worst * 1000, took * 1000))
        # One feature that is itself a huge tree: refused once its tree
        # outgrows the budget (12 times the body), not built whole.
        body = b'{"locations":[[{}' + b',{}' * ((2 * MiB) // 3) + b']]}'
        before = status_kib(pid, "VmHWM")
        status, reply, _ = post(self.m.rport, "/overland", body, auth)
        self.assertIn(" 400 ", status, reply)
        self.assertIn(b"too many values", reply)
        grown = status_kib(pid, "VmHWM") - before
        self.assertLess(grown * 1024, 40 * len(body), "peak RSS grew %d KiB" % grown)
