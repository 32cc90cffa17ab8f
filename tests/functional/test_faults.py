"""Storage faults: what the receiver promises when the disk refuses writes
(docs/design.md §2 "Replies": 2xx only after COMMIT; 503 when storage fails;
nothing half-stored; an Overland batch commits all of its fixes or none).

No root needed: `mintrac run` is started with a soft RLIMIT_FSIZE a little
above what the database needs. mintrac ignores SIGXFSZ, so once the WAL
reaches the limit a write fails with EFBIG, SQLite reports an I/O error and
the receiver must answer 503. The servers' output goes through a pipe to
run.log (a log file would be subject to the same limit). Afterwards the
servers are restarted without the limit and what is stored is compared with
what was acknowledged.

Everything runs on 127.0.0.1 with bounded time and request counts; every
process and directory is cleaned up through addCleanup.
"""
import calendar
import http.client
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import threading
import time
import unittest
import urllib.parse

from harness import Mintrac, free_port, recv_responses, sqlite_only, wait_port

PW = "alice-password"
BASE_MS = 1714557600000          # 2024-05-01T10:00:00Z
PAGE = 4096
WAL_FRAME = PAGE + 24
MAX_REQUESTS = 20000             # bound on requests sent while filling the WAL
FILL_SECONDS = 30                # bound on time spent filling the WAL
THREADS = 8
GRACE = 200                      # requests allowed after the WAL is full before a 503


# --- helpers ------------------------------------------------------------------

def iso_ms(text):
    """'YYYY-MM-DDTHH:MM:SS.sssZ' (or without fraction) -> epoch ms."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]00:?00)", text)
    if not m:
        raise AssertionError("time %r is not ISO 8601 UTC" % text)
    secs = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
    frac = (m.group(2) or "0").ljust(3, "0")
    return secs * 1000 + int(frac[:3])


def iso_of(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


def osmand_path(token, ts_ms, lat, lon):
    q = {"token": token, "lat": "%.7f" % lat, "lon": "%.7f" % lon, "timestamp": str(ts_ms)}
    return "/osmand?" + urllib.parse.urlencode(q)


def round7(x):
    return float("%.7f" % x)


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


def read_pid(path):
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return None
    return int(text) if re.fullmatch(r"[0-9]+\n", text) else None


def wait_for(cond, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


class Client:
    """One keep-alive connection that reconnects after an error. status is
    None for a connection error (the outcome of that request is unknown)."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def send(self, method, path, body=None, headers=None):
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
            self.conn.request(method, path, body=body, headers=headers or {})
            r = self.conn.getresponse()
            data = r.read()
            if (r.getheader("Connection") or "").lower() == "close":
                self.close()
            return r.status, data
        except (OSError, http.client.HTTPException) as e:
            self.close()
            return None, repr(e).encode()

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Ledger:
    """What was sent and how each fix was answered; thread-safe. Keys are
    fix times (ms), unique per test."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sent = {}             # ms -> (lat, lon)
        self.acked = set()         # answered 2xx
        self.refused = set()       # answered 503
        self.unknown = set()       # connection error: may or may not be stored
        self.other = []            # (status, body, fix times) of any other answer
        self.statuses = {}
        self.requests = 0

    def record(self, times, positions, status, body):
        with self.lock:
            self.requests += 1
            for t, pos in zip(times, positions):
                self.sent[t] = pos
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status is None:
                self.unknown.update(times)
            elif 200 <= status < 300:
                self.acked.update(times)
            elif status == 503:
                self.refused.update(times)
            else:
                self.other.append((status, body[:200], times[:3]))

    def count(self, status):
        with self.lock:
            return self.statuses.get(status, 0)


class FaultMintrac(Mintrac):
    """Mintrac whose `run` can be started under a file-size limit, with its
    output drained through a pipe into run.log."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self._drain = None

    def db_path(self):
        return os.path.join(self.datadir, "mintrac.db")

    def run_limited(self, limit, env=None, nofile=None):
        """limit: soft RLIMIT_FSIZE in bytes, or None for none; env: extra
        environment for the servers; nofile: RLIMIT_NOFILE, or None."""
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        if limit is not None and hard != resource.RLIM_INFINITY and hard < limit:
            raise unittest.SkipTest("hard RLIMIT_FSIZE %d is below the %d bytes needed" % (hard, limit))
        self.rport = free_port()
        self.wport = free_port()
        while self.wport == self.rport:
            self.wport = free_port()
        cmd = [os.environ["MINTRAC_BIN"], "-d", self.datadir, "run",
               "--receiver-listen", "127.0.0.1:%d" % self.rport,
               "--webapp-listen", "127.0.0.1:%d" % self.wport]

        # Soft limit only: the hard one stays, so an unprivileged prlimit can
        # raise it again on the running receiver.
        def limit_fsize():
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))

        def limits():
            if limit is not None:
                limit_fsize()
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        e = self.environ(env)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=limits, env=e)
        self._drain = threading.Thread(target=self._drain_pipe, args=(self.proc.stdout,), daemon=True)
        self._drain.start()
        try:
            wait_port(self.rport, 15, self.proc)
            wait_port(self.wport, 15, self.proc)
        except AssertionError as e:
            self._kill_group()
            self._join_drain()
            raise AssertionError("%s\nlog:\n%s" % (e, self.log()))

    def _drain_pipe(self, pipe):
        with open(os.path.join(self.datadir, "run.log"), "ab") as out:
            while True:
                chunk = pipe.read1(65536)
                if not chunk:
                    break
                out.write(chunk)
                out.flush()

    def _join_drain(self):
        if self._drain is not None:
            self._drain.join(10)
            self._drain = None

    def stop(self, sig=signal.SIGTERM, timeout=20):
        proc = self.proc
        try:
            return super().stop(sig, timeout)
        finally:
            self._join_drain()
            if proc is not None and proc.stdout is not None:
                proc.stdout.close()


# --- tests --------------------------------------------------------------------------

class FaultBase(unittest.TestCase):
    def setUp(self):
        m = self.m = FaultMintrac()
        self.addCleanup(m.close)
        m.add_user("alice", PW)
        self.token = m.add_device("alice", "phone")["token"]

    def start_limited(self, wal_room):
        """Start under a file-size limit that leaves the WAL wal_room bytes
        (the database file itself is not grown: no checkpoint runs before
        the WAL reaches 1000 pages). Returns the receiver's pid."""
        m = self.m
        self.full_at = None
        self.limit = max(os.path.getsize(m.db_path()), 64 * 1024) + wal_room
        m.run_limited(self.limit)
        return self.receiver_pid()

    def gave_up(self, ledger):
        """True once the WAL has no room for another frame (every commit
        must fail from now on) and GRACE more requests got no 503 at all:
        the receiver is not reporting the failure; stop sending."""
        if self.full_at is None:
            try:
                full = os.path.getsize(self.m.db_path() + "-wal") + WAL_FRAME > self.limit
            except OSError:
                full = False
            if full:
                self.full_at = ledger.requests
            return False
        return ledger.count(503) == 0 and ledger.requests >= self.full_at + GRACE

    def receiver_pid(self):
        path = os.path.join(self.m.datadir, "receiver.pid")
        pid = wait_for(lambda: (lambda p: p if p and pid_alive(p) else None)(read_pid(path)), 5)
        self.assertTrue(pid, "no live receiver pid in receiver.pid")
        return pid

    def log_tail(self, n=40):
        lines = self.m.log().splitlines()
        return "\n".join(lines[-n:])

    def send_osmand(self, client, ledger, ms, lat, lon):
        st, body = client.send("GET", osmand_path(self.token, ms, lat, lon))
        ledger.record([ms], [(round7(lat), round7(lon))], st, body)
        return st

    def fill_sequential(self, ledger, start_k=0, extra_after=20):
        """Distinct fixes one after another until the first 503 (bounded),
        then extra_after more. Returns the next free index."""
        c = Client(self.m.rport)
        self.addCleanup(c.close)
        k = start_k
        deadline = time.monotonic() + FILL_SECONDS
        while (ledger.count(503) == 0 and ledger.requests < MAX_REQUESTS and time.monotonic() < deadline
               and not self.gave_up(ledger)):
            self.send_osmand(c, ledger, BASE_MS + k * 1000, 48.0 + k * 1e-6, 11.0)
            k += 1
        self.assert_got_503(ledger)
        for _ in range(extra_after):
            self.send_osmand(c, ledger, BASE_MS + k * 1000, 48.0 + k * 1e-6, 11.0)
            k += 1
        c.close()
        return k

    def load(self, ledger, start_k, stop_when, seconds):
        """THREADS threads sending distinct fixes on keep-alive connections
        until stop_when() or the time/request bound. Fix k of thread i has
        time BASE_MS + (start_k + k*THREADS + i) s."""
        deadline = time.monotonic() + seconds
        stop = threading.Event()

        def worker(i):
            c = Client(self.m.rport)
            k = 0
            try:
                while not stop.is_set() and time.monotonic() < deadline and ledger.requests < MAX_REQUESTS:
                    n = start_k + k * THREADS + i
                    k += 1
                    st = self.send_osmand(c, ledger, BASE_MS + n * 1000, 48.0 + n * 1e-6, 11.0 + i * 0.001)
                    if st is None:
                        time.sleep(0.02)
                    if stop_when():
                        stop.set()
            finally:
                c.close()

        threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(seconds + 30)
        self.assertFalse(any(t.is_alive() for t in threads), "load threads hung (a request got no answer)")
        return start_k + (ledger.requests + 1) * THREADS

    def assert_got_503(self, ledger):
        if self.full_at is not None:
            why = ("the WAL was full (no room for a frame under the %d-byte limit) from request %d on, "
                   "yet %d requests were answered without a 503" % (self.limit, self.full_at + 1,
                                                                   ledger.requests - self.full_at))
        else:
            why = "no 503 within %d requests / %d s under a %d-byte file-size limit" % (
                ledger.requests, FILL_SECONDS, self.limit)
        self.assertGreater(ledger.count(503), 0, "%s: %r\n%s" % (why, ledger.statuses, self.log_tail(15)))

    def assert_only_2xx_503(self, ledger):
        self.assertEqual(ledger.other, [],
                         "answers other than 2xx/503 while storage failed (status, body, fix times): %r"
                         % ledger.other[:5])

    def assert_still_up(self, rpid):
        self.assertTrue(self.m.running(), "the supervisor died:\n" + self.log_tail())
        self.assertTrue(pid_alive(rpid), "the receiver (pid %d) died:\n%s" % (rpid, self.log_tail()))
        self.assertEqual(read_pid(os.path.join(self.m.datadir, "receiver.pid")), rpid,
                         "the receiver was restarted while storage failed:\n" + self.log_tail())

    def stop_clean(self):
        """SIGTERM while storage still fails: exit 0, quickly, no leftovers,
        no sanitizer report."""
        t0 = time.monotonic()
        problems = self.m.stop_checked()
        took = time.monotonic() - t0
        self.assertEqual(problems, "", "stopping after storage failures:\n%s\n%s" % (problems, self.log_tail()))
        self.assertLess(took, 10, "SIGTERM took %.1f s after storage failures" % took)

    def stored(self):
        """fix time -> (lat, lon) as the webapp returns them; asserts each
        time appears once."""
        out = {}
        for f in self.m.points("phone", "alice", PW):
            ms = iso_ms(f["properties"]["time"])
            self.assertNotIn(ms, out, "fix time %d returned twice" % ms)
            out[ms] = (f["geometry"]["coordinates"][1], f["geometry"]["coordinates"][0])
        self.assertEqual(self.m.device_count("phone", "alice", PW), len(out),
                         "/api/devices count differs from /api/points")
        return out

    def check_stored(self, ledger, what):
        st = self.stored()
        lost = sorted(ledger.acked - set(st))
        self.assertEqual(lost, [], "%s: %d of %d fixes answered 2xx are not stored (first: %s)"
                         % (what, len(lost), len(ledger.acked), lost[:5]))
        half = sorted(ledger.refused & set(st))
        self.assertEqual(half, [], "%s: %d of %d fixes answered 503 are stored anyway (first: %s)"
                         % (what, len(half), len(ledger.refused), half[:5]))
        never = sorted(set(st) - set(ledger.sent))
        self.assertEqual(never, [], "%s: stored fixes that were never sent" % what)
        unexplained = sorted(set(st) - ledger.acked - ledger.unknown)
        self.assertEqual(unexplained, [], "%s: stored fixes that were not acknowledged" % what)
        for ms in ledger.acked:
            self.assertAlmostEqual(st[ms][0], ledger.sent[ms][0], delta=1e-7)
            self.assertAlmostEqual(st[ms][1], ledger.sent[ms][1], delta=1e-7)
        return st

    def check_stores_again(self, k):
        """After the restart without a limit: a new fix is stored."""
        ms = BASE_MS + k * 1000
        st, _, body = self.m.request("GET", osmand_path(self.token, ms, 47.5, 10.5))
        self.assertEqual(st, 200, "new fix after the restart without a limit: %d %r" % (st, body))
        self.assertIn(ms, self.stored(), "fix acked after the restart is not stored")

    def report(self, name, ledger, extra=""):
        print("  [%s: limit %d B, %d requests, %d acked, %d refused, %d unknown, statuses %r%s]"
              % (name, self.limit, ledger.requests, len(ledger.acked), len(ledger.refused),
                 len(ledger.unknown), ledger.statuses, extra))


@sqlite_only("a file-size limit sized from mintrac.db fills its WAL")
class TestFaultFileSize(FaultBase):
    def test_sequential_until_full(self):
        rpid = self.start_limited(128 * WAL_FRAME)
        ledger = Ledger()
        k = self.fill_sequential(ledger)
        self.assertGreater(len(ledger.acked), 10, "too few fixes stored before the limit: %r" % ledger.statuses)
        wal = os.path.getsize(self.m.db_path() + "-wal")
        self.assertLessEqual(wal, self.limit)
        # Then 8 threads at once while storage keeps failing.
        self.load(ledger, k, lambda: ledger.count(503) >= 200, 3)
        self.assert_only_2xx_503(ledger)
        self.assert_still_up(rpid)
        # Still answering (503 or 2xx) after all that.
        st = self.send_osmand(Client(self.m.rport), ledger, BASE_MS + 9 * 10 ** 8, 40.0, 10.0)
        self.assertIn(st, (200, 503), "request after the failures: %r" % st)
        self.stop_clean()
        self.m.run()
        self.check_stored(ledger, "sequential")
        self.check_stores_again(10 ** 6)
        self.report("sequential", ledger, ", WAL %d B" % wal)

    def test_concurrent_until_full(self):
        rpid = self.start_limited(256 * WAL_FRAME)
        ledger = Ledger()
        state = {"first503": None}

        def enough():
            n = ledger.count(503)
            if n and state["first503"] is None:
                state["first503"] = ledger.requests
            return (n and ledger.requests >= state["first503"] + 300) or self.gave_up(ledger)
        self.load(ledger, 0, enough, FILL_SECONDS)
        self.assert_got_503(ledger)
        self.assertGreater(len(ledger.acked), 10, "too few fixes stored before the limit: %r" % ledger.statuses)
        self.assert_only_2xx_503(ledger)
        self.assert_still_up(rpid)
        st = self.send_osmand(Client(self.m.rport), ledger, BASE_MS + 9 * 10 ** 8, 40.0, 10.0)
        self.assertIn(st, (200, 503), "request after the failures: %r" % st)
        self.stop_clean()
        self.m.run()
        self.check_stored(ledger, "8 threads")
        self.check_stores_again(10 ** 6 + 1)
        self.report("8 threads", ledger)

    def test_overland_batch_all_or_nothing(self):
        """Batches of N fixes one after another until one gets 503: that one
        was sent when the limit was nearly reached, and must be stored
        completely or (with 503) not at all."""
        n = 150                    # a few WAL pages per batch: a failing one is half written
        rpid = self.start_limited(96 * WAL_FRAME)
        ledger = Ledger()
        batches = []               # (status, body, [times])
        c = Client(self.m.rport)
        self.addCleanup(c.close)
        deadline = time.monotonic() + FILL_SECONDS
        b = 0
        after = 0
        while (after < 3 and time.monotonic() < deadline and ledger.requests < 2000
               and not self.gave_up(ledger)):
            times, pos, feats = [], [], []
            for j in range(n):
                i = b * n + j
                ms = BASE_MS + i * 1000
                lat, lon = 45.0 + i * 1e-6, 7.0 + j * 1e-5
                times.append(ms)
                pos.append((round7(lat), round7(lon)))
                feats.append({"type": "Feature",
                              "geometry": {"type": "Point", "coordinates": [round7(lon), round7(lat)]},
                              "properties": {"timestamp": iso_of(ms), "altitude": 44, "speed": 3,
                                             "horizontal_accuracy": 5, "battery_level": 0.8,
                                             "motion": ["walking"], "wifi": "", "device_id": "t"}})
            body = json.dumps({"locations": feats}).encode()
            st, data = c.send("POST", "/overland", body,
                              {"Content-Type": "application/json",
                               "Authorization": "Bearer " + self.token})
            ledger.record(times, pos, st, data)
            batches.append((st, data, times))
            if st == 200:
                self.assertEqual(json.loads(data.decode()).get("result"), "ok", data)
            if ledger.count(503):
                after += 1
            b += 1
        self.assert_got_503(ledger)
        wal = os.path.getsize(self.m.db_path() + "-wal")
        self.assert_only_2xx_503(ledger)
        self.assert_still_up(rpid)
        self.stop_clean()
        self.m.run()
        st = self.stored()
        for i, (status, data, times) in enumerate(batches):
            have = sum(1 for t in times if t in st)
            if status == 200:
                self.assertEqual(have, n, "batch %d answered 200 but %d of its %d fixes are stored"
                                 % (i, have, n))
            elif status == 503:
                self.assertEqual(have, 0, "batch %d answered 503 but %d of its %d fixes are stored "
                                 "(half-stored batch)" % (i, have, n))
        self.check_stored(ledger, "overland")
        # Checked last: a first batch half-stored must show as that, first.
        self.assertGreater(len(ledger.acked), 0, "no batch stored before the limit: %r" % ledger.statuses)
        self.check_stores_again(10 ** 6)
        self.report("overland", ledger, ", %d batches of %d, WAL %d B" % (len(batches), n, wal))

    def test_recovers_when_space_returns(self):
        """The same running receiver stores again once the limit is lifted:
        the writer's connection recovers from the failed transactions."""
        prl = shutil.which("prlimit")
        if not prl:
            self.skipTest("prlimit (util-linux) not installed")
        rpid = self.start_limited(64 * WAL_FRAME)
        ledger = Ledger()
        k = self.fill_sequential(ledger, extra_after=5)
        cp = subprocess.run([prl, "--pid", str(rpid), "--fsize=unlimited"], capture_output=True,
                            text=True, timeout=10)
        if cp.returncode != 0:
            self.skipTest("prlimit --pid %d --fsize=unlimited failed: %s" % (rpid, cp.stderr.strip()))
        refused_before = len(ledger.refused)
        # Sequential: the very first fix after the limit is lifted is stored.
        c = Client(self.m.rport)
        self.addCleanup(c.close)
        after = []
        for _ in range(20):
            after.append(self.send_osmand(c, ledger, BASE_MS + k * 1000, 48.0 + k * 1e-6, 11.0))
            k += 1
        self.assertEqual(after, [200] * 20, "replies to fixes sent after the limit was lifted "
                         "(same receiver, pid %d):\n%s" % (rpid, self.log_tail()))
        # And under load.
        self.load(ledger, k, lambda: False, 1.0)
        self.assertEqual(len(ledger.refused), refused_before,
                         "503 after the limit was lifted: %r\n%s" % (ledger.statuses, self.log_tail()))
        self.assert_only_2xx_503(ledger)
        self.assert_still_up(rpid)
        self.stop_clean()
        self.m.run()
        self.check_stored(ledger, "after recovery")
        self.report("recovery", ledger)


# --- faults injected through SQLite's VFS ---------------------------------------
#
# The test build (build/asan, -DMINTRAC_FAULTVFS) wraps SQLite's VFS: when
# MINTRAC_TEST_FAULTS names a control file, its first word makes every write
# to the database and its WAL fail (full, short, fsync, readonly; see
# src/store/faultvfs.h). The file is re-read when it changes, so one running
# receiver goes through: storing, the fault, the fault cleared.

VFS_FIXES = 12             # single-fix requests sent during a fault
VFS_BATCH = 60             # fixes in the Overland batch sent during a fault


def set_fault(path, word):
    """Atomically replace the control file (the VFS sees a new inode)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(word + "\n")
    os.replace(tmp, path)


def integrity(db):
    import sqlite3
    con = sqlite3.connect(db, timeout=10)
    try:
        return [r[0] for r in con.execute("PRAGMA integrity_check")]
    finally:
        con.close()


def warn_lines(text):
    return [l for l in text.splitlines() if re.search(r"\] (warn|error): ", l)]


@sqlite_only("faults are injected through SQLite's VFS (faultvfs)")
class TestFaultVfs(FaultBase):
    def start_vfs(self, initial="none"):
        m = self.m
        self.ctl = os.path.join(m.root, "faults")
        set_fault(self.ctl, "full")
        # A binary without the fault VFS (a release build) cannot run these.
        cp = m.cli("user", "add", "probe", "--password-stdin", stdin="probe-password\n",
                   check=False, env={"MINTRAC_TEST_FAULTS": self.ctl})
        if cp.returncode == 0:
            self.skipTest("MINTRAC_BIN has no fault VFS (build/asan builds it with -DMINTRAC_FAULTVFS)")
        set_fault(self.ctl, initial)
        self.limit = 0
        m.run_limited(None, env={"MINTRAC_TEST_FAULTS": self.ctl})
        return self.receiver_pid()

    def overland(self, client, ledger, k0, n):
        times, pos, feats = [], [], []
        for j in range(n):
            ms = BASE_MS + (k0 + j) * 1000
            lat, lon = 45.0 + (k0 + j) * 1e-6, 7.0 + j * 1e-5
            times.append(ms)
            pos.append((round7(lat), round7(lon)))
            feats.append({"type": "Feature",
                          "geometry": {"type": "Point", "coordinates": [round7(lon), round7(lat)]},
                          "properties": {"timestamp": iso_of(ms), "speed": 3, "horizontal_accuracy": 5}})
        body = json.dumps({"locations": feats}).encode()
        st, data = client.send("POST", "/overland", body, {"Content-Type": "application/json",
                                                           "Authorization": "Bearer " + self.token})
        ledger.record(times, pos, st, data)
        return st

    def run_fault(self, word):
        rpid = self.start_vfs()
        ledger = Ledger()
        c = Client(self.m.rport)
        self.addCleanup(c.close)
        k = 0
        for _ in range(5):
            self.assertEqual(self.send_osmand(c, ledger, BASE_MS + k * 1000, 48.0 + k * 1e-6, 11.0), 200,
                             "before the fault:\n" + self.log_tail())
            k += 1

        for incident in range(2):
            log0 = len(self.m.log())
            set_fault(self.ctl, word)
            during = Ledger()
            for _ in range(VFS_FIXES):
                self.send_osmand(c, during, BASE_MS + k * 1000, 48.0 + k * 1e-6, 11.0)
                k += 1
            self.overland(c, during, k, VFS_BATCH)
            k += VFS_BATCH
            k = self.load(during, k, lambda: during.requests >= 60, 10)
            self.assertEqual(during.statuses.get(503, 0), during.requests,
                             "%s, incident %d: every request must get 503 while the disk fails, got %r\n%s"
                             % (word, incident + 1, during.statuses, self.log_tail()))
            self.assert_still_up(rpid)
            set_fault(self.ctl, "none")
            # Recovery without a restart: the very next request is stored.
            after = []
            for _ in range(5):
                after.append(self.send_osmand(c, ledger, BASE_MS + k * 1000, 48.0 + k * 1e-6, 11.0))
                k += 1
            self.assertEqual(after, [200] * 5, "%s: replies once the fault cleared (same receiver):\n%s"
                             % (word, self.log_tail()))
            self.assertEqual(self.overland(c, ledger, k, VFS_BATCH), 200)
            k += VFS_BATCH
            for t, p in during.sent.items():
                ledger.sent[t] = p
            ledger.refused |= during.refused
            ledger.unknown |= during.unknown
            ledger.acked |= during.acked
            for st, n in during.statuses.items():
                ledger.statuses[st] = ledger.statuses.get(st, 0) + n
            # One log line per incident (and one when it is over), not one
            # per request or batch.
            time.sleep(0.2)
            text = self.m.log()[log0:]
            warns = [l for l in warn_lines(text) if " receiver[" in l]
            self.assertEqual(len(warns), 1, "%s, incident %d: %d warning lines for %d refused requests, "
                             "want exactly 1:\n%s" % (word, incident + 1, len(warns), during.requests,
                                                       "\n".join(warns[:10])))
            # The webapp's history deriver meets the same disk: one line
            # for the incident at most, however often it retries.
            others = [l for l in warn_lines(text) if " receiver[" not in l]
            self.assertLessEqual(len(others), 1, "\n".join(others[:10]))
            for l in others:
                self.assertIn("history:", l)
            self.assertRegex(warns[0], r"storage failed")
            self.assertEqual(len(re.findall(r"storage works again", text)), 1, text[-2000:])
        self.assert_still_up(rpid)
        self.check_stored(ledger, word)
        self.stop_clean()
        self.assertEqual(integrity(self.m.db_path()), ["ok"], "PRAGMA integrity_check after %s" % word)
        self.report("vfs " + word, ledger)

    def test_disk_full(self):
        self.run_fault("full")

    def test_short_write(self):
        self.run_fault("short")

    def test_fsync_fails(self):
        self.run_fault("fsync")

    def test_read_only(self):
        self.run_fault("readonly")

    def test_fsync_failure_then_crash(self):
        """A commit whose fsync failed was answered 503. Its WAL frames may
        all have been written; if the receiver then dies before anything
        else is committed, WAL recovery at the next start must not replay
        them: 503 means not stored, crash or no crash."""
        self.start_vfs()
        ledger = Ledger()
        c = Client(self.m.rport)
        self.addCleanup(c.close)
        for k in range(3):
            self.assertEqual(self.send_osmand(c, ledger, BASE_MS + k * 1000, 48.0, 11.0), 200)
        set_fault(self.ctl, "fsync")
        self.assertEqual(self.send_osmand(c, ledger, BASE_MS + 10 * 1000, 48.0, 11.0), 503)
        self.assertEqual(self.overland(c, ledger, 20, VFS_BATCH), 503)
        c.close()
        self.m._kill_group()
        self.m._join_drain()
        set_fault(self.ctl, "none")
        self.m.run_limited(None, env={"MINTRAC_TEST_FAULTS": self.ctl})
        self.check_stored(ledger, "fsync failure, then kill -9")
        self.assertEqual(len(self.stored()), 3)
        self.stop_clean()
        self.assertEqual(integrity(self.m.db_path()), ["ok"])

    def test_read_only_from_start(self):
        """The receiver starts while the disk is read-only (remounted after
        an error, say) and the disk becomes writable later: it must store
        again without a restart, so it must not keep a connection that
        opened read-only."""
        rpid = self.start_vfs("readonly")
        ledger = Ledger()
        c = Client(self.m.rport)
        self.addCleanup(c.close)
        k = 0
        for _ in range(5):
            self.send_osmand(c, ledger, BASE_MS + k * 1000, 48.0 + k * 1e-6, 11.0)
            k += 1
        self.assertEqual(ledger.statuses, {503: 5}, "while the disk is read-only:\n" + self.log_tail())
        set_fault(self.ctl, "none")
        after = []
        for _ in range(5):
            after.append(self.send_osmand(c, ledger, BASE_MS + k * 1000, 48.0 + k * 1e-6, 11.0))
            k += 1
        self.assertEqual(after, [200] * 5, "once the disk is writable again (same receiver):\n"
                         + self.log_tail())
        self.assert_still_up(rpid)
        self.check_stored(ledger, "read-only from start")
        self.stop_clean()
        self.assertEqual(integrity(self.m.db_path()), ["ok"])


# --- out of file descriptors ----------------------------------------------------

NOFILE = 96                # the servers' descriptor limit in this test


def cpu_seconds(pid):
    """user + system CPU time the process has used so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class TestFdExhaustion(FaultBase):
    def test_accept_backs_off_and_service_returns(self):
        """More connections than the receiver has descriptors: accept fails
        with EMFILE. It must back off (not spin on a listening socket that
        stays readable), keep serving the connections it has, and accept
        again once some close."""
        m = self.m
        self.limit = 0
        m.run_limited(None, nofile=NOFILE)
        rpid = self.receiver_pid()
        socks = []

        def close_all():
            for s in socks:
                s.close()
            socks.clear()
        self.addCleanup(close_all)
        # Twice the limit: the later ones wait in the kernel's backlog.
        for _ in range(2 * NOFILE):
            socks.append(m.connect(timeout=10))
        # The first connections were accepted: one of them still works.
        ledger = Ledger()
        ms = BASE_MS
        req = ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % osmand_path(self.token, ms, 48.1, 11.1)).encode()
        socks[0].sendall(req)
        got, _ = recv_responses(socks[0], 1, timeout=10)
        self.assertEqual([r[0] for r in got], [200], "an accepted connection at the descriptor limit")
        ledger.record([ms], [(48.1, 11.1)], 200, b"")
        wait_for(lambda: "accept" in m.log(), 5)
        self.assertRegex(m.log(), r"accept.*(Too many open files|EMFILE)",
                         "the receiver never ran out of descriptors (limit %d):\n%s" % (NOFILE, self.log_tail()))
        # Out of descriptors, with connections waiting: no busy loop.
        t0, c0 = time.monotonic(), cpu_seconds(rpid)
        time.sleep(2.0)
        used = (cpu_seconds(rpid) - c0) / (time.monotonic() - t0)
        self.assertLess(used, 0.25, "receiver used %.0f%% of a CPU while out of descriptors (spinning "
                        "on accept)" % (used * 100))
        self.assert_still_up(rpid)
        # Descriptors come back: every waiting connection is served.
        close_all()
        ok = []
        for i in range(20):
            ms = BASE_MS + (i + 1) * 1000
            st, _, body = m.request("GET", osmand_path(self.token, ms, 48.2, 11.2), timeout=10)
            ok.append(st)
            if st == 200:
                ledger.record([ms], [(48.2, 11.2)], st, body)
        self.assertEqual(ok, [200] * 20, "after the connections closed:\n" + self.log_tail())
        self.assert_still_up(rpid)
        self.check_stored(ledger, "descriptor limit")
        self.stop_clean()


if __name__ == "__main__":
    unittest.main()
