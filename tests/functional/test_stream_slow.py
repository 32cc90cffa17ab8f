"""A live stream (/api/stream) whose client stops reading is dropped: once
more than its limit is queued, the connection is closed (within the idle
timeout), not kept open forever with its queue and subscription."""
import json
import os
import socket
import time

import harness


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class SlowStreamTest(harness.ServerCase):
    conf = {"idle_timeout": "2"}

    def test_non_reading_subscriber_is_closed(self):
        _, token = self.device()
        with open(os.path.join(self.m.datadir, "webapp.pid")) as f:
            pid = int(f.read().split()[0])
        base = open_fds(pid)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # A small window keeps the kernel from taking the queue off the server.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(10)
        sock.connect(("127.0.0.1", self.m.wport))
        try:
            sock.sendall(("GET /api/stream HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n\r\n"
                          % harness.basic("alice", "alice-secret-1")).encode())
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = sock.recv(1)
                self.assertTrue(chunk)
                head += chunk
            self.assertIn(b" 200 ", head.split(b"\r\n")[0])
            self.assertEqual(open_fds(pid), base + 1)
            # About 6 MB of events (big attributes), never read.
            pad = "x" * 50000
            t0 = 1763910000
            for batch in range(4):
                feats = [{"type": "Feature",
                          "geometry": {"type": "Point", "coordinates": [13.4, 52.5]},
                          "properties": {"timestamp": t0 + batch * 30 + i, "pad": pad}}
                         for i in range(30)]
                status, _, body = self.m.request(
                    "POST", "/overland", port=self.m.rport,
                    body=json.dumps({"locations": feats}).encode(),
                    headers={"Content-Type": "application/json",
                             "Authorization": "Bearer " + token})
                self.assertEqual(status, 200, body)
            # Dropped: the webapp holds the socket no longer than the idle timeout.
            deadline = time.monotonic() + 8
            while open_fds(pid) > base and time.monotonic() < deadline:
                time.sleep(0.2)
            self.assertEqual(open_fds(pid), base)
        finally:
            sock.close()
