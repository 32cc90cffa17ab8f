"""What a PostgreSQL store adds (run.py --backend postgresql; skipped on
SQLite): several receivers on one database, the database restarted under
load, and `mintrac migrate --to LOCATION` between SQLite and PostgreSQL.

- Two receivers (two data directories, one MINTRAC_STORE) take OsmAnd fixes,
  some of them the same fix sent to both: every acked fix is stored exactly
  once, and the webapp's live stream shows the fixes of both receivers.
- The database goes down for a moment while a phone keeps sending: every 200
  is stored afterwards, whatever is sent while it is down gets 503 (never a
  200 without a commit), and the receiver and the webapp come back by
  themselves within a few seconds.
- Two webapps (two data directories, one MINTRAC_STORE) behind an imagined
  load balancer: wrong passwords sent to both in turn spend one budget (the
  429 comes after as many guesses as with one webapp), and an upload to one
  is seen with its summary through GET /api/imports/ID on the other.
- A SQLite store with users, devices, fixes and places migrated to a new
  database and back to a new SQLite file: the same users, devices, fixes
  and places at every step, the source untouched.

Everything runs on 127.0.0.1 with bounded time and request counts; every
process, directory and database is cleaned up through addCleanup.
"""
import collections
import itertools
import os
import threading
import time
import unittest
import urllib.parse

import pgcluster
from harness import DATADIR_DB, Mintrac, postgresql_only
from test_faults import Client, iso_ms
from test_imports_api import gpx
from test_signin_guard import USER_BURST, Client as AddrClient
from test_stream import Stream
from test_webapp_auth import BasicClient, Browser

ALICE = ("alice", "alice-secret-1")
BOB = ("bob", "bob-secret-22")
BASE_MS = 1714557600000          # 2024-05-01T10:00:00Z
# Within this, a receiver and a webapp whose database came back serve again.
RECOVER_SECONDS = 5.0
_dbs = itertools.count(1)


def osmand_path(token, ms, lat, lon):
    q = {"token": token, "lat": "%.7f" % lat, "lon": "%.7f" % lon, "timestamp": str(ms)}
    return "/osmand?" + urllib.parse.urlencode(q)


def position(ms):
    """A fix's position, from its time alone (so any thread can check it)."""
    k = (ms - BASE_MS) // 1000
    return round(48.0 + k * 1e-5, 7), round(11.0 + (k % 97) * 1e-5, 7)


def stored_times(tc, m, device, user, password):
    """fix time -> (lat, lon) of every stored fix; fails on a time seen twice."""
    out = {}
    for f in m.points(device, user, password):
        ms = iso_ms(f["properties"]["time"])
        tc.assertNotIn(ms, out, "fix time %d stored twice" % ms)
        out[ms] = (f["geometry"]["coordinates"][1], f["geometry"]["coordinates"][0])
    return out


def wait_webapp(m, user, password, timeout=RECOVER_SECONDS):
    """Seconds until GET /api/devices answers 200 again."""
    t0 = time.monotonic()
    while True:
        try:
            st, _ = m.api("/api/devices", user, password)
        except OSError:
            st = None
        if st == 200:
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise AssertionError("the webapp did not serve /api/devices within %.0f s of the "
                                 "database coming back (last %s)\n%s" % (timeout, st, m.log()[-3000:]))
        time.sleep(0.1)


class Sender(threading.Thread):
    """Sends the given fix times one after another on a keep-alive
    connection; records (sent, answered, status, ms) for each."""

    def __init__(self, port, token, times, pause=0.0, stop=None):
        super().__init__(daemon=True)
        self.port, self.token, self.times, self.pause = port, token, times, pause
        self.stop = stop or threading.Event()
        self.log = []

    def run(self):
        c = Client(self.port)
        try:
            for ms in self.times:
                if self.stop.is_set():
                    break
                lat, lon = position(ms)
                t0 = time.monotonic()
                st, _ = c.send("GET", osmand_path(self.token, ms, lat, lon))
                self.log.append((t0, time.monotonic(), st, ms))
                if self.pause:
                    time.sleep(self.pause)
        finally:
            c.close()

    def finish(self, tc, timeout=60):
        self.join(timeout)
        tc.assertFalse(self.is_alive(), "a sender hung (a request got no answer)")
        return self.log


# --- (a) two receivers, one database ------------------------------------------

@postgresql_only("two receivers share one database")
class TwoReceivers(unittest.TestCase):
    PER_RECEIVER = 60            # fixes only one receiver gets
    SHARED = 20                  # fixes both receivers get, at the same time

    def setUp(self):
        a = self.a = Mintrac()
        self.addCleanup(a.close)
        a.add_user(*ALICE)
        self.token = a.add_device(ALICE[0], "phone")["token"]
        # Another data directory (its own pidfiles, log, config) on the same store.
        b = self.b = Mintrac(store=a.store)
        self.addCleanup(b.close)
        a.run()
        b.run("--receiver")
        self.addCleanup(self.stopped_cleanly, b)
        self.addCleanup(self.stopped_cleanly, a)

    def stopped_cleanly(self, m):
        problem = m.stop_checked()
        self.assertEqual(problem, "", problem)

    def test_each_fix_once_and_every_fix_live(self):
        a, b = self.a, self.b
        stream = Stream(a, *ALICE)
        self.addCleanup(stream.close)
        self.assertIn(" 200 ", stream.head.splitlines()[0])
        n, s = self.PER_RECEIVER, self.SHARED
        only_a = [BASE_MS + k * 1000 for k in range(n)]
        only_b = [BASE_MS + k * 1000 for k in range(n, 2 * n)]
        shared = [BASE_MS + k * 1000 for k in range(2 * n, 2 * n + s)]
        senders = [Sender(a.rport, self.token, only_a), Sender(b.rport, self.token, only_b),
                   Sender(a.rport, self.token, shared), Sender(b.rport, self.token, shared)]
        for t in senders:
            t.start()
        replies = [r for t in senders for r in t.finish(self)]
        statuses = collections.Counter(st for _, _, st, _ in replies)
        self.assertEqual(statuses, {200: 2 * n + 2 * s},
                         "replies of two receivers on one database\n" + a.log()[-2000:] + b.log()[-2000:])
        sent = set(only_a) | set(only_b) | set(shared)

        stored = stored_times(self, a, "phone", *ALICE)
        self.assertEqual(sorted(set(sent) - set(stored)), [], "acked fixes not stored")
        self.assertEqual(sorted(set(stored) - set(sent)), [], "stored fixes never sent")
        for ms, (lat, lon) in stored.items():
            self.assertAlmostEqual(lat, position(ms)[0], delta=1e-7)
            self.assertAlmostEqual(lon, position(ms)[1], delta=1e-7)
        self.assertEqual(a.device_count("phone", *ALICE), len(sent))
        # The second data directory's CLI reads the same store.
        rows = b.cli("export", ALICE[0], "phone", "--format", "csv").stdout.strip().splitlines()
        self.assertEqual(len(rows) - 1, len(sent), "export through the second data directory")

        # One event per stored fix, from either receiver.
        events = stream.events(len(sent), timeout=10)
        ids = collections.Counter(int(eid) for eid, _ in events)
        self.assertEqual(sorted(set(only_a) - set(ids)), [], "fixes of the first receiver not streamed")
        self.assertEqual(sorted(set(only_b) - set(ids)), [], "fixes of the second receiver not streamed")
        self.assertEqual(sorted(set(shared) - set(ids)), [], "fixes sent to both not streamed")
        self.assertEqual([ms for ms, c in ids.items() if c > 1], [], "fixes streamed twice")


# --- (a2) two webapps on one database --------------------------------------

@postgresql_only("two webapps share one database")
class TwoWebapps(unittest.TestCase):
    def setUp(self):
        a = self.a = Mintrac()
        self.addCleanup(a.close)
        a.add_user(*ALICE)
        a.add_user(*BOB)
        a.add_device(ALICE[0], "phone")
        b = self.b = Mintrac(store=a.store)
        self.addCleanup(b.close)
        a.run("--webapp")
        b.run("--webapp")
        self.addCleanup(self.stopped_cleanly, b)
        self.addCleanup(self.stopped_cleanly, a)

    def stopped_cleanly(self, m):
        problem = m.stop_checked()
        self.assertEqual(problem, "", problem)

    def test_wrong_passwords_at_both_spend_one_budget(self):
        wrong = 0
        for i in range(3 * USER_BURST):
            m = (self.a, self.b)[i % 2]
            c = AddrClient(m.wport, "127.30.%d.%d" % (i // 200, i % 200 + 1))
            st, hdrs, doc = c.login(BOB[0], "guess-%d" % i)
            c.close()
            if st == 429:
                break
            self.assertEqual(st, 401, doc)
            wrong += 1
        self.assertEqual(wrong, USER_BURST, "guesses before the 429, at two webapps")
        self.assertIn("retry-after", hdrs)
        # Spent at either webapp, from any address.
        for m in (self.a, self.b):
            c = AddrClient(m.wport, "127.31.0.1")
            st, _, doc = c.login(BOB[0], "another-guess")
            c.close()
            self.assertEqual(st, 429, doc)

    def test_an_upload_at_one_is_seen_at_the_other(self):
        at_a, at_b = Browser(self.a, *ALICE), Browser(self.b, *ALICE)
        st, _, doc = at_a.call("POST", "/api/imports?device=phone&name=walk.gpx",
                               gpx(300).encode(), {"Content-Type": "application/gpx+xml"})
        self.assertEqual(st, 202, doc)
        job_id = doc["id"]
        deadline = time.monotonic() + 60
        while True:
            st, _, job = at_b.call("GET", "/api/imports/%d" % job_id)
            self.assertEqual(st, 200, job)
            if job["state"] != "running" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(job["state"], "done", job)
        self.assertEqual((job["id"], job["device"], job["name"]), (job_id, "phone", "walk.gpx"))
        self.assertEqual((job["fixes"], job["stored"], job["duplicates"]), (300, 300, 0))
        self.assertEqual(len(job["files"]), 1)
        self.assertIsNone(job["error"])
        # The same record at both, in the list too; another user sees none.
        st, _, here = at_a.call("GET", "/api/imports/%d" % job_id)
        self.assertEqual((st, here), (200, job))
        st, _, jobs = at_b.call("GET", "/api/imports")
        self.assertEqual((st, [j["id"] for j in jobs]), (200, [job_id]))
        st, _, doc = Browser(self.b, *BOB).call("GET", "/api/imports/%d" % job_id)
        self.assertEqual(st, 404, doc)
        # The next upload may go to the other webapp; its id is a new one.
        st, _, doc = at_b.call("POST", "/api/imports?device=phone&name=again.gpx",
                               gpx(10).encode(), {"Content-Type": "application/gpx+xml"})
        self.assertEqual(st, 202, doc)
        self.assertNotEqual(doc["id"], job_id)

    def test_a_job_whose_webapp_died_fails_and_frees_the_user(self):
        at_a, at_b = Browser(self.a, *ALICE), Browser(self.b, *ALICE)
        rows = "".join("%s,52.5,13.4\n" % time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                         time.gmtime(BASE_MS // 1000 + i))
                       for i in range(2000))
        part = ("time,lat,lon\n" + rows).encode()
        s = self.b.connect(port=self.b.wport)
        self.addCleanup(s.close)
        s.sendall(("POST /api/imports?device=phone&name=slow.csv HTTP/1.1\r\nHost: x\r\n"
                   "Cookie: %s\r\nX-CSRF-Token: %s\r\nContent-Length: %d\r\n\r\n"
                   % (at_b.cookie, at_b.csrf, 10 * len(part))).encode() + part)
        deadline = time.monotonic() + 30
        while True:
            st, _, jobs = at_a.call("GET", "/api/imports")
            self.assertEqual(st, 200, jobs)
            if jobs and jobs[0]["received"] > 0 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual((len(jobs), jobs[0]["state"]), (1, "running"), jobs)
        job_id = jobs[0]["id"]
        # The webapp running it dies (no SIGTERM: nothing is written after).
        self.b._kill_group()
        self.b.proc = None
        # Until its record is stale it is running, and holds the user's place.
        st, _, doc = at_a.call("POST", "/api/imports?device=phone&name=next.gpx",
                               gpx(5).encode(), {"Content-Type": "application/gpx+xml"})
        self.assertEqual(st, 429, doc)
        deadline = time.monotonic() + 45
        while True:
            st, _, job = at_a.call("GET", "/api/imports/%d" % job_id)
            self.assertEqual(st, 200, job)
            if job["state"] != "running" or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual((job["state"], job["error"]), ("failed", "the webapp running it stopped"),
                         job)
        self.assertIsNotNone(job["finished"])
        st, _, doc = at_a.call("POST", "/api/imports?device=phone&name=next.gpx",
                               gpx(5).encode(), {"Content-Type": "application/gpx+xml"})
        self.assertEqual(st, 202, doc)


# --- (b) the database restarted under load ---------------------------------------

@postgresql_only("restarts the PostgreSQL server")
class DatabaseRestart(unittest.TestCase):
    MAX_FIXES = 3000             # at one request per ~10 ms, far more than the test needs
    PAUSE = 1.5                  # seconds the database stays down

    def setUp(self):
        m = self.m = Mintrac()
        self.addCleanup(m.close)
        m.add_user(*ALICE)
        self.token = m.add_device(ALICE[0], "phone")["token"]
        m.run()

    def test_acked_fixes_survive_and_service_returns(self):
        m = self.m
        stop = threading.Event()
        sender = Sender(m.rport, self.token, [BASE_MS + k * 1000 for k in range(self.MAX_FIXES)],
                        pause=0.01, stop=stop)
        self.addCleanup(stop.set)
        sender.start()
        # Load first: a loaded machine may take a while for the first acks.
        deadline = time.monotonic() + 15
        while (sum(1 for r in list(sender.log) if r[2] == 200) <= 10
               and time.monotonic() < deadline and sender.is_alive()):
            time.sleep(0.05)
        before = len(sender.log)
        down, up = pgcluster.restart(self.PAUSE)
        # Until a fix sent after the restart is acked, within RECOVER_SECONDS.
        back = None
        deadline = up + RECOVER_SECONDS + 10
        while back is None and time.monotonic() < deadline and sender.is_alive():
            back = next((r for r in list(sender.log) if r[0] >= up and r[2] == 200), None)
            time.sleep(0.05)
        time.sleep(0.5)
        stop.set()
        log = sender.finish(self)

        self.assertGreater(sum(1 for r in log[:before] if r[2] == 200), 10,
                           "too few fixes acked before the restart")
        statuses = collections.Counter(st for _, _, st, _ in log)
        self.assertLessEqual(set(statuses), {200, 503},
                             "replies other than 200 and 503 (None: connection lost) %r\n%s"
                             % (statuses, m.log()[-3000:]))
        while_down = [r for r in log if r[0] >= down and r[1] <= up]
        self.assertGreater(len(while_down), 10, "too few requests while the database was down")
        wrong = [(st, ms) for _, _, st, ms in while_down if st != 503]
        self.assertEqual(wrong, [], "replies while the database was down must be 503")
        self.assertIsNotNone(back, "no fix acked within %.0f s of the database coming back: %r\n%s"
                             % (RECOVER_SECONDS, statuses, m.log()[-3000:]))
        self.assertLess(back[1] - up, RECOVER_SECONDS,
                        "the receiver took %.1f s to store again" % (back[1] - up))

        wait_webapp(m, *ALICE)
        stored = stored_times(self, m, "phone", *ALICE)
        acked = {ms for _, _, st, ms in log if st == 200}
        lost = sorted(acked - set(stored))
        self.assertEqual(lost, [], "%d of %d fixes answered 200 are not stored (first %s)"
                         % (len(lost), len(acked), lost[:5]))
        sent = {ms for _, _, _, ms in log}
        self.assertEqual(sorted(set(stored) - sent), [], "stored fixes never sent")
        # Sent while nothing could commit: never stored. (A 503 answered
        # around the shutdown itself may have committed: a COMMIT cut off
        # in flight has an unknown outcome, and the phone's retry is a
        # duplicate stored once.)
        ghosts = sorted({ms for _, _, _, ms in while_down} & set(stored))
        self.assertEqual(ghosts, [], "fixes sent while the database was down are stored")
        for ms in acked:
            self.assertAlmostEqual(stored[ms][0], position(ms)[0], delta=1e-7)
        self.assertEqual(m.device_count("phone", *ALICE), len(stored))
        print("  [restart: %d requests, %r, %d while down, stored again %.2f s after start]"
              % (len(log), dict(statuses), len(while_down), back[1] - up))
        problem = m.stop_checked()
        self.assertEqual(problem, "", problem)


# --- (c) migrate between the backends ------------------------------------------------

@postgresql_only("migrates to and from a PostgreSQL database")
class Migrate(unittest.TestCase):
    DEVICES = ((ALICE, "phone", 400), (ALICE, "car", 150), (BOB, "bobphone", 80))
    PLACES = ((ALICE, "Home", 52.52, 13.40, 150), (ALICE, "Office", 52.565, 13.46, 300),
              (BOB, "Gym", 48.137, 11.575, 100))

    def setUp(self):
        # The source is a SQLite file whatever this run's backend.
        m = self.m = Mintrac(store=DATADIR_DB)
        self.addCleanup(m.close)
        for user in (ALICE, BOB):
            m.add_user(*user)
        for n, ((user, _), device, count) in enumerate(self.DEVICES):
            m.add_device(user, device)
            # A steady drive (no stays, so no place is derived from them).
            path = os.path.join(m.root, "%s.csv" % device)
            with open(path, "w") as f:
                f.write("time,lat,lon\n")
                for i in range(count):
                    f.write("%s,%.6f,%.6f\n" % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(
                        BASE_MS // 1000 + n * 86400 + 10 * i)), 50.0 + n + i * 1e-3, 10.0))
            m.cli("import", user, device, path)
        m.run("--webapp")
        for (user, password), name, lat, lon, radius in self.PLACES:
            st, _, doc = BasicClient(m, user, password).call(
                "POST", "/api/places", {"name": name, "lat": lat, "lon": lon, "radius": radius})
            self.assertEqual(st, 201, doc)
        problem = m.stop_checked()
        self.assertEqual(problem, "", problem)

    def new_database(self):
        name = "mt_migrate_%d_%d" % (os.getpid(), next(_dbs))
        url = pgcluster.create_database(name)
        self.addCleanup(pgcluster.drop_database, name)
        return url

    def contents(self, store):
        """Users, devices with their fixes, and places of the store at
        `store` (None: the data directory's SQLite file)."""
        m = self.m
        env = {"MINTRAC_STORE": store} if store else None
        out = {"users": sorted(m.cli("user", "list", env=env).stdout.splitlines()),
               "devices": sorted(m.cli("device", "list", env=env).stdout.splitlines())}
        m.run("--webapp", env=env)
        try:
            for user, password in (ALICE, BOB):
                for (u, _), device, _ in self.DEVICES:
                    if u == user:
                        out["fixes", device] = sorted(stored_times(self, m, device, user, password).items())
                st, places = m.api("/api/places", user, password)
                self.assertEqual(st, 200, places)
                out["places", user] = sorted((p["name"], round(p["lat"], 6), round(p["lon"], 6), p["radius"])
                                             for p in places)
        finally:
            problem = m.stop_checked()
        self.assertEqual(problem, "", problem)
        return out

    def test_to_postgresql_and_back(self):
        m = self.m
        before = self.contents(None)
        self.assertEqual(len(before["users"]), 2)
        self.assertEqual(len(before["devices"]), len(self.DEVICES))
        for _, device, count in self.DEVICES:
            self.assertEqual(len(before["fixes", device]), count)
        self.assertEqual(sum(len(before["places", u]) for u, _ in (ALICE, BOB)), len(self.PLACES))

        url = self.new_database()
        cp = m.cli("migrate", "--to", url, check=False)
        self.assertEqual(cp.returncode, 0, "migrate --to %s: %s" % (url, cp.stderr))
        self.assertEqual(self.contents(url), before, "SQLite -> PostgreSQL")
        self.assertEqual(self.contents(None), before, "the source after migrating")

        back = "sqlite:" + os.path.join(m.root, "back.db")
        cp = m.cli("migrate", "--to", back, check=False, env={"MINTRAC_STORE": url})
        self.assertEqual(cp.returncode, 0, "migrate --to %s: %s" % (back, cp.stderr))
        self.assertEqual(self.contents(back), before, "PostgreSQL -> SQLite")
        self.assertTrue(os.path.isfile(os.path.join(m.root, "back.db")))


if __name__ == "__main__":
    unittest.main()
