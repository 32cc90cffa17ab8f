"""Crash consistency: the receiver is killed with SIGKILL at random moments
while clients keep group commits going, and restarted, round after round.
Every fix answered 2xx must be stored (acknowledged ⊆ stored), a batch is
stored whole or not at all, the per-device count matches the rows, and
PRAGMA integrity_check stays "ok" (docs/design.md §2 "Replies": 2xx only
after the points are committed).

MINTRAC_CRASH_ROUNDS rounds (50 by default; `make stress` runs 1,000). Each
round: start `mintrac run --receiver` (which recovers the WAL the last kill
left), check what the previous round acknowledged, then 6 clients send
OsmAnd fixes and Overland batches on keep-alive connections, and after a
random 30-150 ms the whole process group gets SIGKILL. 127.0.0.1 only.
"""
import json
import os
import random
import signal
import sqlite3
import subprocess
import threading
import time
import unittest
import urllib.parse

from harness import BIN, Mintrac, free_port, sqlite_only, wait_port
from test_faults import Client, iso_of, round7

ROUNDS = int(os.environ.get("MINTRAC_CRASH_ROUNDS", "50"))
CLIENTS = 6
BASE_MS = 1714557600000


class Round:
    """What the clients of one round sent and how each request was answered."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = set()
        self.batches = []          # (status, [fix times]) of every request with more than one fix
        self.unknown = 0           # requests whose answer the kill cut off
        self.statuses = {}


@sqlite_only("reads mintrac.db after each SIGKILL (rows, device_stats, PRAGMA integrity_check)")
class TestCrashConsistency(unittest.TestCase):
    def setUp(self):
        m = self.m = Mintrac()
        self.addCleanup(m.close)
        m.add_user("alice", "alice-password")
        self.token = m.add_device("alice", "phone")["token"]
        self.db = os.path.join(m.datadir, "mintrac.db")
        self.proc = None
        self.next_ms = BASE_MS
        self.ms_lock = threading.Lock()
        self.addCleanup(self.kill)

    def times(self, n):
        with self.ms_lock:
            t0 = self.next_ms
            self.next_ms += n * 1000
        return [t0 + i * 1000 for i in range(n)]

    def start(self):
        self.port = free_port()
        log = open(os.path.join(self.m.datadir, "run.log"), "ab")
        self.proc = subprocess.Popen([BIN, "-d", self.m.datadir, "run", "--receiver",
                                      "--receiver-listen", "127.0.0.1:%d" % self.port],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     start_new_session=True)
        log.close()
        try:
            wait_port(self.port, 15, self.proc)
        except AssertionError as e:
            raise AssertionError("%s\n%s" % (e, self.m.log()[-3000:]))

    def kill(self):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc.wait(10)
        self.proc = None

    def client(self, rnd, stop, seed):
        rng = random.Random(seed)
        c = Client(self.port)
        try:
            while not stop.is_set():
                if rng.random() < 0.5:
                    t = self.times(1)
                    q = {"token": self.token, "lat": "48.1", "lon": "11.5", "timestamp": str(t[0])}
                    st, _ = c.send("GET", "/osmand?" + urllib.parse.urlencode(q))
                else:
                    t = self.times(rng.randint(2, 40))
                    feats = [{"type": "Feature",
                              "geometry": {"type": "Point", "coordinates": [round7(7.0 + i * 1e-5), 45.0]},
                              "properties": {"timestamp": iso_of(ms), "speed": 1}}
                             for i, ms in enumerate(t)]
                    st, _ = c.send("POST", "/overland", json.dumps({"locations": feats}).encode(),
                                   {"Content-Type": "application/json",
                                    "Authorization": "Bearer " + self.token})
                with rnd.lock:
                    rnd.statuses[st] = rnd.statuses.get(st, 0) + 1
                    if st is None:
                        rnd.unknown += 1
                    elif 200 <= st < 300:
                        rnd.acked.update(t)
                    if len(t) > 1:
                        rnd.batches.append((st, t))
                if st is None:
                    return         # the receiver is gone
        finally:
            c.close()

    def check(self, acked, batches, what):
        con = sqlite3.connect(self.db, timeout=10)
        try:
            stored = {r[0] for r in con.execute("SELECT time_ms FROM fixes")}
            counted = con.execute("SELECT coalesce(sum(points), 0) FROM device_stats").fetchone()[0]
            ic = [r[0] for r in con.execute("PRAGMA integrity_check")]
        finally:
            con.close()
        lost = sorted(acked - stored)
        self.assertEqual(lost, [], "%s: %d of %d acknowledged fixes are not stored (first %s)"
                         % (what, len(lost), len(acked), lost[:5]))
        for st, t in batches:
            have = sum(1 for ms in t if ms in stored)
            self.assertIn(have, (0, len(t)), "%s: a batch of %d fixes (answer %s) is half-stored: %d"
                          % (what, len(t), st, have))
        self.assertEqual(counted, len(stored), "%s: device_stats counts %d fixes, the table has %d"
                         % (what, counted, len(stored)))
        self.assertEqual(ic, ["ok"], "%s: PRAGMA integrity_check" % what)

    def test_kill_during_group_commits(self):
        rng = random.Random(os.environ.get("MINTRAC_CRASH_SEED") or time.time_ns())
        acked, batches = set(), []
        in_flight = 0
        total_acked = 0
        t0 = time.monotonic()
        for r in range(ROUNDS):
            self.start()
            self.check(acked, batches, "after kill %d" % r)
            rnd = Round()
            stop = threading.Event()
            threads = [threading.Thread(target=self.client, args=(rnd, stop, rng.random()), daemon=True)
                       for _ in range(CLIENTS)]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.03, 0.15))
            self.kill()
            stop.set()
            for t in threads:
                t.join(20)
            self.assertFalse(any(t.is_alive() for t in threads), "a client hung after the kill")
            acked |= rnd.acked
            batches += rnd.batches
            total_acked += len(rnd.acked)
            in_flight += rnd.unknown > 0
        self.start()
        self.check(acked, batches, "after the last kill")
        self.kill()
        took = time.monotonic() - t0
        print("  [%d rounds in %.1f s: %d fixes acknowledged, all stored; %d rounds killed with "
              "requests in flight]" % (ROUNDS, took, total_acked, in_flight))
        self.assertGreater(total_acked, ROUNDS, "too few fixes acknowledged to mean anything")
        self.assertGreater(in_flight, ROUNDS // 2, "most kills must hit requests in flight")


if __name__ == "__main__":
    unittest.main()
