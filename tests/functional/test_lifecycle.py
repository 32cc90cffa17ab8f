"""Lifecycle: the CLI (init, users, devices and their validation, errors),
commands taking effect on running servers at once, start/stop/status and
pidfiles, crash isolation between receiver and webapp, durability under
SIGKILL and SIGTERM while phones send, export and backup.

Everything runs on 127.0.0.1 with bounded time; every process and
directory is cleaned up through addCleanup.
"""
import calendar
import csv
import io
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

from harness import BACKEND, Mintrac, free_port, sqlite_only, wait_port

PW = "alice-password"
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{22,}$")
BASE_MS = 1714557600000          # 2024-05-01T10:00:00Z


# --- helpers ------------------------------------------------------------------

def one_error_line(tc, cp, what):
    """A failed CLI command: exit status non-zero and exactly one line on stderr."""
    tc.assertNotEqual(cp.returncode, 0, "%s: expected failure, got exit 0 (stdout %r)" % (what, cp.stdout))
    lines = [l for l in cp.stderr.splitlines() if l.strip()]
    tc.assertEqual(len(lines), 1, "%s: want one error line on stderr, got %r" % (what, cp.stderr))


def pid_alive(pid):
    """Running and not a zombie (a daemon reparented to a non-reaping pid 1
    stays a zombie, which kill(pid, 0) still reports)."""
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
    if not re.fullmatch(r"[0-9]+\n", text):
        raise AssertionError("pidfile %s is not 'decimal pid + newline': %r" % (path, text))
    return int(text)


def wait_for(cond, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


def dead_pid():
    """A pid that existed a moment ago and is gone now."""
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def fix_path(token, ts_ms, lat, lon, **extra):
    q = {"token": token, "lat": "%.7f" % lat, "lon": "%.7f" % lon, "timestamp": str(ts_ms)}
    q.update({k: str(v) for k, v in extra.items()})
    return "/osmand?" + urllib.parse.urlencode(q)


def send_fix(m, token, ts_ms, lat=52.5, lon=13.4, port=None, **extra):
    st, _, _ = m.request("GET", fix_path(token, ts_ms, lat, lon, **extra), port=port)
    return st


def iso_ms(text):
    """'YYYY-MM-DDTHH:MM:SS.sssZ' (or without fraction) -> epoch ms."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]00:?00)", text)
    if not m:
        raise AssertionError("time %r is not ISO 8601 UTC" % text)
    secs = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
    frac = (m.group(2) or "0").ljust(3, "0")
    return secs * 1000 + int(frac[:3])


def local(tag):
    return tag.rsplit("}", 1)[-1]


def gpx_points(tc, text):
    """Parse GPX: trk/trkseg/trkpt with lat, lon, ele, time -> [(ms, lat, lon, ele)]."""
    root = ET.fromstring(text.encode("utf-8") if isinstance(text, str) else text)
    tc.assertEqual(local(root.tag), "gpx")
    trks = [e for e in root if local(e.tag) == "trk"]
    tc.assertEqual(len(trks), 1, "want one <trk>")
    segs = [e for e in trks[0] if local(e.tag) == "trkseg"]
    tc.assertEqual(len(segs), 1, "want one <trkseg>")
    out = []
    for pt in segs[0]:
        if local(pt.tag) != "trkpt":
            continue
        kids = {local(k.tag): (k.text or "").strip() for k in pt}
        tc.assertIn("time", kids, "trkpt without <time>")
        ele = float(kids["ele"]) if "ele" in kids else None
        out.append((iso_ms(kids["time"]), float(pt.get("lat")), float(pt.get("lon")), ele))
    return out


def csv_points(tc, text):
    """CSV with a header row -> [(ms, lat, lon)] using the lat/lon/time columns."""
    rows = list(csv.reader(io.StringIO(text)))
    tc.assertGreaterEqual(len(rows), 1, "CSV without a header row")
    head = [h.strip().lower() for h in rows[0]]

    def col(*names):
        for n in names:
            if n in head:
                return head.index(n)
        raise AssertionError("CSV header %r lacks one of %r" % (rows[0], names))
    ilat = col("lat", "latitude")
    ilon = col("lon", "lng", "longitude")
    itime = col("time", "timestamp", "datetime", "time_utc")
    out = []
    for r in rows[1:]:
        if not r:
            continue
        t = r[itime].strip()
        ms = int(t) if t.isdigit() else iso_ms(t)
        out.append((ms, float(r[ilat]), float(r[ilon])))
    return out


def feature_points(features):
    return [(iso_ms(f["properties"]["time"]), f["geometry"]["coordinates"][1],
             f["geometry"]["coordinates"][0]) for f in features]


class Base(unittest.TestCase):
    def mintrac(self, conf=None):
        m = Mintrac(conf)
        self.addCleanup(m.close)
        return m

    def pidfile(self, m, name):
        return os.path.join(m.datadir, name + ".pid")

    def child_pid(self, m, name, not_pid=None, timeout=5):
        def get():
            try:
                pid = read_pid(self.pidfile(m, name))
            except AssertionError:
                return None          # being rewritten
            if pid and pid != not_pid and pid_alive(pid):
                return pid
            return None
        pid = wait_for(get, timeout)
        self.assertTrue(pid, "no live %s pid%s in %s.pid within %d s" % (
            name, "" if not_pid is None else " other than %d" % not_pid, name, timeout))
        return pid

    def kill_leftovers(self, m):
        """Cleanup for daemons: SIGKILL whatever the pidfiles still name."""
        for name in ("mintrac", "receiver", "webapp"):
            try:
                pid = read_pid(self.pidfile(m, name))
            except AssertionError:
                pid = None
            if pid and pid_alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass


# --- CLI ------------------------------------------------------------------------

class TestCli(Base):
    def test_init_twice(self):
        m = self.mintrac()
        # On a database the store is elsewhere: no file in DATADIR.
        self.assertEqual(os.path.isfile(os.path.join(m.datadir, "mintrac.db")), BACKEND == "sqlite")
        self.assertTrue(os.path.isfile(os.path.join(m.datadir, "mintrac.conf")))
        m.add_user("alice", PW)
        cp = m.cli("init", check=False)
        self.assertEqual(cp.returncode, 0, "second init: %r" % cp.stderr)
        # and it destroyed nothing
        self.assertEqual(m.cli("user", "list").stdout.split(), ["alice"])

    def test_password_length(self):
        m = self.mintrac()
        for pw in ("", "short", "1234567"):
            cp = m.cli("user", "add", "bob", "--password-stdin", stdin=pw + "\n", check=False)
            one_error_line(self, cp, "password of %d chars" % len(pw))
        self.assertNotIn("bob", m.cli("user", "list").stdout.split())
        m.add_user("bob", "12345678")          # exactly 8 is enough
        m.add_user("carol", "pass word with spaces & ümlauts")
        self.assertEqual(sorted(m.cli("user", "list").stdout.split()), ["bob", "carol"])

    def test_user_name_validation(self):
        m = self.mintrac()
        good = ["a", "Alice.B_c-9", "x" * 64, "..-"]
        bad = ["", "x" * 65, "a b", "a/b", "ali:ce", "äli", "a\tb", "a\nb", "<b>", "a@b"]
        for name in good:
            m.add_user(name, PW)
        for name in bad:
            cp = m.cli("user", "add", name, "--password-stdin", stdin=PW + "\n", check=False)
            one_error_line(self, cp, "user name %r" % name)
        self.assertEqual(sorted(m.cli("user", "list").stdout.splitlines()), sorted(good))

    def test_device_name_validation(self):
        m = self.mintrac()
        m.add_user("alice", PW)
        good = ["Anna's phone", "<img src=x>", "ü" * 64, "x" * 64, "a b&c\"d", "日本"]
        bad = ["", "a/b", "/", "a\x01b", "a\tb", "a\nb", "a\x7fb", "x" * 65, "ü" * 65]
        for name in good:
            d = m.add_device("alice", name)
            self.assertEqual(d.get("device"), name)
        for name in bad:
            cp = m.cli("device", "add", "alice", name, "--json", check=False)
            one_error_line(self, cp, "device name %r" % name)
        listed = [l.split("\t") for l in m.cli("device", "list", "alice").stdout.splitlines() if l]
        self.assertEqual(sorted(l[1] for l in listed), sorted(good))
        for l in listed:
            self.assertEqual(l[0], "alice")
            self.assertEqual(l[2], "0 points")

    def test_device_add_json(self):
        m = self.mintrac()
        m.add_user("alice", PW)
        d = m.add_device("alice", "phone")
        self.assertEqual(d["user"], "alice")
        self.assertEqual(d["device"], "phone")
        self.assertIsNone(d.get("ident"))
        tok = d["token"]
        self.assertRegex(tok, TOKEN_RE)
        urls = d["urls"]
        for key in ("osmand", "traccar", "gpslogger", "overland", "dawarich"):
            self.assertIn(key, urls)
            self.assertIn(tok, urls[key], "%s URL lacks the token unencoded" % key)
        self.assertIn("token=%s&lat={0}&lon={1}&timestamp={2}" % tok, urls["osmand"])
        self.assertIn("%LAT", urls["gpslogger"])
        for key in ("owntracks", "ulogger"):
            self.assertIn(key, urls)
        self.assertTrue(urls["osmand"].startswith("http://"))
        d2 = m.add_device("alice", "car", ident="123456")
        self.assertEqual(d2["ident"], "123456")
        self.assertRegex(d2["token"], TOKEN_RE)
        self.assertNotEqual(d2["token"], tok)
        # new token: printed as JSON, differs, still URL-safe
        cp = m.cli("device", "token", "alice", "phone", "--json")
        t2 = json.loads(cp.stdout)["token"]
        self.assertRegex(t2, TOKEN_RE)
        self.assertNotEqual(t2, tok)
        # without --json it still prints the token
        d3 = m.cli("device", "add", "alice", "watch").stdout
        self.assertRegex(d3, r"[A-Za-z0-9_-]{22,}")

    def test_lists_and_deletes(self):
        m = self.mintrac()
        m.add_user("alice", PW)
        m.add_user("bob", PW)
        self.assertEqual(sorted(m.cli("user", "list").stdout.splitlines()), ["alice", "bob"])
        m.add_device("alice", "phone")
        m.add_device("alice", "car")
        m.add_device("bob", "watch")
        lines = sorted(m.cli("device", "list").stdout.splitlines())
        self.assertEqual(lines, ["alice\tcar\t0 points", "alice\tphone\t0 points", "bob\twatch\t0 points"])
        self.assertEqual(sorted(m.cli("device", "list", "bob").stdout.splitlines()), ["bob\twatch\t0 points"])
        m.cli("device", "del", "alice", "car")
        self.assertEqual(sorted(m.cli("device", "list", "alice").stdout.splitlines()), ["alice\tphone\t0 points"])
        m.cli("user", "del", "bob")
        self.assertEqual(m.cli("user", "list").stdout.splitlines(), ["alice"])
        self.assertEqual(m.cli("device", "list").stdout.splitlines(), ["alice\tphone\t0 points"])
        # same device name under another user is a different device
        m.add_user("bob", PW)
        m.add_device("bob", "phone")
        self.assertEqual(len(m.cli("device", "list").stdout.splitlines()), 2)
        # user passwd
        m.cli("user", "passwd", "alice", "--password-stdin", stdin="new-password\n")
        cp = m.cli("user", "passwd", "alice", "--password-stdin", stdin="short\n", check=False)
        one_error_line(self, cp, "passwd with a short password")

    def test_errors(self):
        m = self.mintrac()
        m.add_user("alice", PW)
        m.add_device("alice", "phone")
        cases = [
            ("device add for an unknown user", ["device", "add", "nobody", "phone"], None),
            ("device del of an unknown device", ["device", "del", "alice", "nothing"], None),
            ("device del for an unknown user", ["device", "del", "nobody", "phone"], None),
            ("device token of an unknown device", ["device", "token", "alice", "nothing"], None),
            ("device list of an unknown user", ["device", "list", "nobody"], None),
            ("user del of an unknown user", ["user", "del", "nobody"], None),
            ("user passwd of an unknown user", ["user", "passwd", "nobody", "--password-stdin"], PW + "\n"),
            ("user add twice", ["user", "add", "alice", "--password-stdin"], PW + "\n"),
            ("device add twice", ["device", "add", "alice", "phone"], None),
            ("unknown command", ["frobnicate"], None),
            ("unknown subcommand", ["user", "frobnicate"], None),
            ("missing argument", ["device", "add", "alice"], None),
            ("unknown format", ["export", "alice", "phone", "--format", "docx"], None),
            ("unreadable time", ["export", "alice", "phone", "--from", "yesterday-ish"], None),
        ]
        for what, args, stdin in cases:
            with self.subTest(what):
                cp = m.cli(*args, stdin=stdin, check=False)
                one_error_line(self, cp, what)
        # and nothing changed
        self.assertEqual(m.cli("user", "list").stdout.splitlines(), ["alice"])
        self.assertEqual(m.cli("device", "list").stdout.splitlines(), ["alice\tphone\t0 points"])


# --- commands act on running servers at once -------------------------------------

class TestLiveEffect(Base):
    def test_changes_seen_by_next_request(self):
        m = self.mintrac()
        m.add_user("alice", PW)
        m.run()
        # user and device created while running
        m.add_user("carol", "carol-password")
        tok = m.add_device("carol", "phone")["token"]
        self.assertEqual(send_fix(m, tok, BASE_MS), 200)
        feats = m.points("phone", "carol", "carol-password")
        self.assertEqual([iso_ms(f["properties"]["time"]) for f in feats], [BASE_MS])
        # new token: old one refused at once, new one accepted
        new = m.new_token("carol", "phone")
        self.assertEqual(send_fix(m, tok, BASE_MS + 1000), 401)
        self.assertEqual(send_fix(m, new, BASE_MS + 2000), 200)
        self.assertEqual(len(m.points("phone", "carol", "carol-password")), 2)
        # deleted device: refused at once
        m.cli("device", "del", "carol", "phone")
        self.assertEqual(send_fix(m, new, BASE_MS + 3000), 401)
        # deleted user: webapp refuses the credentials at once
        st, _ = m.api("/api/devices", "carol", "carol-password")
        self.assertEqual(st, 200)
        m.cli("user", "del", "carol")
        st, _ = m.api("/api/devices", "carol", "carol-password")
        self.assertEqual(st, 401)
        # changed password: old refused, new accepted, at once
        m.cli("user", "passwd", "alice", "--password-stdin", stdin="alice-new-pw\n")
        self.assertEqual(m.api("/api/devices", "alice", PW)[0], 401)
        self.assertEqual(m.api("/api/devices", "alice", "alice-new-pw")[0], 200)

    def test_keepalive_connection_sees_token_change(self):
        """The "next request" may be on a connection opened before the change."""
        m = self.mintrac()
        m.add_user("alice", PW)
        tok = m.add_device("alice", "phone")["token"]
        m.run()
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", m.rport, timeout=10)
        self.addCleanup(conn.close)

        def get(path):
            conn.request("GET", path)
            r = conn.getresponse()
            r.read()
            return r.status
        self.assertEqual(get(fix_path(tok, BASE_MS, 52.5, 13.4)), 200)
        new = m.new_token("alice", "phone")
        self.assertEqual(get(fix_path(tok, BASE_MS + 1000, 52.5, 13.4)), 401)
        self.assertEqual(get(fix_path(new, BASE_MS + 2000, 52.5, 13.4)), 200)


# --- start / stop / status --------------------------------------------------------

class TestStartStop(Base):
    def start(self, m, check=True):
        rport, wport = free_port(), free_port()
        while wport == rport:
            wport = free_port()
        self.addCleanup(self.kill_leftovers, m)
        cp = m.cli("start", "--receiver-listen", "127.0.0.1:%d" % rport,
                   "--webapp-listen", "127.0.0.1:%d" % wport, check=check)
        return cp, rport, wport

    def assert_accepts_now(self, port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                pass
        except OSError as e:
            self.fail("port %d does not accept right after start returned: %s" % (port, e))

    def test_start_status_stop(self):
        m = self.mintrac()
        m.add_user("alice", PW)
        tok = m.add_device("alice", "phone")["token"]
        t0 = time.monotonic()
        _, rport, wport = self.start(m)
        self.assertLess(time.monotonic() - t0, 30)
        # no retry: both must accept the moment start returns
        self.assert_accepts_now(rport)
        self.assert_accepts_now(wport)
        pids = {}
        for name in ("receiver", "webapp"):
            pid = read_pid(self.pidfile(m, name))
            self.assertIsNotNone(pid, "%s.pid missing after start" % name)
            self.assertTrue(pid_alive(pid), "%s pid %d not running" % (name, pid))
            pids[name] = pid
        self.assertNotEqual(pids["receiver"], pids["webapp"])
        self.assertEqual(send_fix(m, tok, BASE_MS, port=rport), 200)
        cp = m.cli("status", check=False)
        self.assertEqual(cp.returncode, 0, "status while running: %r %r" % (cp.stdout, cp.stderr))
        self.assertIn("127.0.0.1:%d" % rport, cp.stdout)
        self.assertIn("127.0.0.1:%d" % wport, cp.stdout)
        for pid in pids.values():
            self.assertRegex(cp.stdout, r"\b%d\b" % pid)
        self.assertRegex(cp.stdout, r"points\D*1\b")
        # start again while running: refused, servers untouched
        cp2, _, _ = self.start(m, check=False)
        one_error_line(self, cp2, "second start")
        self.assertTrue(all(pid_alive(p) for p in pids.values()))

        cp = m.cli("stop", check=False)
        self.assertEqual(cp.returncode, 0, "stop: %r" % cp.stderr)
        # stop returns once the processes are gone and the pidfiles removed
        for name, pid in pids.items():
            self.assertFalse(pid_alive(pid), "%s pid %d still alive after stop returned" % (name, pid))
            self.assertFalse(os.path.exists(self.pidfile(m, name)), "%s.pid left after stop" % name)
        self.assertFalse(os.path.exists(self.pidfile(m, "mintrac")), "mintrac.pid left after stop")
        cp = m.cli("status", check=False)
        self.assertNotEqual(cp.returncode, 0, "status after stop: %r" % cp.stdout)
        log = open(os.path.join(m.datadir, "mintrac.log"), errors="replace").read()
        self.assertNotIn("Sanitizer", log)
        self.assertNotIn("runtime error", log)
        # stop when nothing runs: either a no-op (exit 0) or one error line
        cp = m.cli("stop", check=False)
        if cp.returncode != 0:
            one_error_line(self, cp, "stop when not running")

    def test_stale_pidfiles(self):
        m = self.mintrac()
        m.add_user("alice", PW)
        m.add_device("alice", "phone")
        for name in ("mintrac", "receiver", "webapp"):
            with open(self.pidfile(m, name), "w") as f:
                f.write("%d\n" % dead_pid())
        cp = m.cli("status", check=False)
        self.assertNotEqual(cp.returncode, 0, "status with stale pidfiles: %r" % cp.stdout)
        cp, rport, wport = self.start(m, check=False)
        self.assertEqual(cp.returncode, 0, "start over stale pidfiles: %r" % cp.stderr)
        self.assert_accepts_now(rport)
        self.assert_accepts_now(wport)
        self.assertEqual(m.cli("status", check=False).returncode, 0)
        self.assertEqual(m.cli("stop", check=False).returncode, 0)
        self.assertNotEqual(m.cli("status", check=False).returncode, 0)

    def test_start_port_in_use_fails(self):
        """start must not claim success when it cannot listen."""
        m = self.mintrac()
        blocker = socket.socket()
        self.addCleanup(blocker.close)
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        self.addCleanup(self.kill_leftovers, m)
        cp = m.cli("start", "--receiver-listen", "127.0.0.1:%d" % port,
                   "--webapp-listen", "127.0.0.1:%d" % free_port(), check=False)
        self.assertNotEqual(cp.returncode, 0, "start on a taken port exited 0")
        self.assertNotEqual(m.cli("status", check=False).returncode, 0)


# --- crash isolation ----------------------------------------------------------------

class TestCrashIsolation(Base):
    def test_webapp_killed_receiver_keeps_storing(self):
        m = self.mintrac()
        m.add_user("alice", PW)
        tok = m.add_device("alice", "phone")["token"]
        m.run()
        sup = self.child_pid(m, "mintrac")
        self.assertEqual(sup, m.proc.pid, "mintrac.pid is not the supervisor's pid")
        rpid = self.child_pid(m, "receiver")
        wpid = self.child_pid(m, "webapp")
        os.kill(wpid, signal.SIGKILL)
        sent = 0
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            st = send_fix(m, tok, BASE_MS + sent * 1000)
            self.assertEqual(st, 200, "fix %d during the webapp outage got %d" % (sent, st))
            sent += 1
            time.sleep(0.02)
        new_w = self.child_pid(m, "webapp", not_pid=wpid, timeout=5)
        wait_port(m.wport, 5)
        self.assertEqual(m.api("/api/devices", "alice", PW)[0], 200)
        self.assertEqual(read_pid(self.pidfile(m, "receiver")), rpid, "receiver restarted too")
        self.assertTrue(pid_alive(rpid))
        self.assertTrue(m.running(), "supervisor died")
        self.assertEqual(len(m.points("phone", "alice", PW)), sent)
        log = m.log()
        self.assertRegex(log, r"(?i)webapp[^\n]*(signal|killed|SIGKILL)",
                         "log does not say why the webapp restarted:\n" + log[-2000:])
        self.assertNotEqual(new_w, wpid)

    def test_receiver_killed_is_restarted(self):
        m = self.mintrac()
        m.add_user("alice", PW)
        tok = m.add_device("alice", "phone")["token"]
        m.run()
        rpid = self.child_pid(m, "receiver")
        wpid = self.child_pid(m, "webapp")
        self.assertEqual(send_fix(m, tok, BASE_MS), 200)
        os.kill(rpid, signal.SIGKILL)
        self.child_pid(m, "receiver", not_pid=rpid, timeout=5)
        # the listening socket stays with the supervisor: the port answers
        ok = wait_for(lambda: send_fix(m, tok, BASE_MS + 1000) == 200, 5, 0.1)
        self.assertTrue(ok, "receiver did not store again within 5 s of its restart")
        self.assertEqual(read_pid(self.pidfile(m, "webapp")), wpid, "webapp restarted too")
        self.assertEqual(m.api("/api/devices", "alice", PW)[0], 200)
        self.assertEqual(len(m.points("phone", "alice", PW)), 2)
        self.assertRegex(m.log(), r"(?i)receiver[^\n]*(signal|killed|SIGKILL)")


# --- durability -------------------------------------------------------------------------

class Load:
    """8 threads sending distinct OsmAnd fixes as fast as they can on
    keep-alive connections; remembers every fix answered 2xx."""

    THREADS = 8

    def __init__(self, port, token, seconds):
        self.port = port
        self.token = token
        self.seconds = seconds
        self.lock = threading.Lock()
        self.acked = {}            # time ms -> (lat, lon)
        self.attempted = {}
        self.statuses = {}
        self.errors = 0
        self.threads = [threading.Thread(target=self.worker, args=(i,), daemon=True)
                        for i in range(self.THREADS)]

    def start(self):
        self.t0 = time.monotonic()
        for t in self.threads:
            t.start()

    def join(self):
        for t in self.threads:
            t.join(self.seconds + 30)
        return not any(t.is_alive() for t in self.threads)

    def worker(self, i):
        import http.client
        deadline = self.t0 + self.seconds
        k = 0
        conn = None
        while time.monotonic() < deadline:
            ts = BASE_MS + (k * self.THREADS + i) * 1000
            k += 1
            lat = 48.0 + (ts % 1000003) * 1e-7
            lon = 11.0 + i * 0.001
            path = fix_path(self.token, ts, lat, lon)
            with self.lock:
                self.attempted[ts] = (float("%.7f" % lat), float("%.7f" % lon))
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("GET", path)
                r = conn.getresponse()
                r.read()
                st = r.status
            except (OSError, http.client.HTTPException):
                with self.lock:
                    self.errors += 1
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.02)
                continue
            with self.lock:
                self.statuses[st] = self.statuses.get(st, 0) + 1
                if 200 <= st < 300:
                    self.acked[ts] = self.attempted[ts]
        if conn is not None:
            conn.close()


class TestDurability(Base):
    def load(self, m, tok, seconds):
        ld = Load(m.rport, tok, seconds)
        ld.start()
        self.addCleanup(ld.join)
        return ld

    def check_stored(self, m, ld):
        """Every acked fix is stored, with its position; nothing stored that
        was never sent."""
        stored = {}
        for ms, lat, lon in feature_points(m.points("phone", "alice", PW)):
            self.assertNotIn(ms, stored, "fix time %d returned twice" % ms)
            stored[ms] = (lat, lon)
        lost = sorted(set(ld.acked) - set(stored))
        self.assertEqual(lost, [], "%d of %d fixes answered 2xx are not stored (first: %s)"
                         % (len(lost), len(ld.acked), lost[:5]))
        extra = sorted(set(stored) - set(ld.attempted))
        self.assertEqual(extra, [], "stored fixes that were never sent")
        for ms, (lat, lon) in ld.acked.items():
            self.assertAlmostEqual(stored[ms][0], lat, delta=1e-7)
            self.assertAlmostEqual(stored[ms][1], lon, delta=1e-7)
        self.assertEqual(m.device_count("phone", "alice", PW), len(stored))
        return stored

    def test_sigkill_everything_under_load(self):
        m = self.mintrac()
        m.add_user("alice", PW)
        tok = m.add_device("alice", "phone")["token"]
        m.run()
        kids = [self.child_pid(m, n) for n in ("receiver", "webapp")]
        ld = self.load(m, tok, 3.0)
        time.sleep(1.5)
        # everything at once: the process group, and each pid by name
        try:
            os.killpg(m.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        for pid in kids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.assertTrue(wait_for(lambda: not any(pid_alive(p) for p in kids), 5), "children survived SIGKILL")
        self.assertTrue(ld.join(), "load threads hung")
        m.stop()                   # reaps the supervisor
        self.assertGreater(len(ld.acked), 20, "too few fixes acked before the kill: %r" % ld.statuses)
        self.assertEqual(set(ld.statuses), {200}, "replies other than 200: %r" % ld.statuses)
        m.run()
        stored = self.check_stored(m, ld)
        print("  [sigkill: %d acked, %d stored, %d attempted, %d connection errors]"
              % (len(ld.acked), len(stored), len(ld.attempted), ld.errors))

    def test_sigterm_under_load(self):
        m = self.mintrac()
        m.add_user("alice", PW)
        tok = m.add_device("alice", "phone")["token"]
        m.run()
        kids = [self.child_pid(m, n) for n in ("receiver", "webapp")]
        ld = self.load(m, tok, 3.0)
        time.sleep(1.5)
        t0 = time.monotonic()
        m.proc.send_signal(signal.SIGTERM)
        try:
            rc = m.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.fail("supervisor did not exit within 10 s of SIGTERM under load")
        took = time.monotonic() - t0
        self.assertEqual(rc, 0, "supervisor exit status after SIGTERM\n" + m.log()[-2000:])
        self.assertLess(took, 5, "SIGTERM took %.1f s" % took)
        self.assertTrue(wait_for(lambda: not any(pid_alive(p) for p in kids), 5),
                        "children still alive after the supervisor exited")
        self.assertTrue(ld.join(), "load threads hung")
        m.stop()
        for name in ("receiver", "webapp", "mintrac"):
            self.assertFalse(os.path.exists(self.pidfile(m, name)), "%s.pid left after SIGTERM" % name)
        self.assertGreater(len(ld.acked), 20, "too few fixes acked: %r" % ld.statuses)
        self.assertEqual(set(ld.statuses), {200}, "replies other than 200: %r" % ld.statuses)
        log = m.log()
        self.assertNotIn("Sanitizer", log, log[-3000:])
        self.assertNotIn("runtime error", log, log[-3000:])
        m.run()
        stored = self.check_stored(m, ld)
        print("  [sigterm: %d acked, %d stored, %d attempted, %d connection errors, exit in %.2f s]"
              % (len(ld.acked), len(stored), len(ld.attempted), ld.errors, took))


# --- export and backup ---------------------------------------------------------------------

class TestExport(Base):
    # (ms offset from BASE_MS, lat, lon, altitude); millisecond times on purpose
    FIXES = [
        (0, 52.5200001, 13.4049999, 34.5),
        (1001, 52.5200123, 13.4050456, 0),
        (2002, 52.5201234, 13.4051567, -3.25),
        (60003, -33.8688197, 151.2092955, 58),
        (3600004, 0.0000001, -0.0000001, 1234.5),
    ]

    def setUp(self):
        m = self.m = self.mintrac()
        m.add_user("alice", PW)
        tok = m.add_device("alice", "phone")["token"]
        m.add_device("alice", "empty")
        m.run()
        for off, lat, lon, alt in self.FIXES:
            self.assertEqual(send_fix(m, tok, BASE_MS + off, lat, lon, altitude=alt), 200)

    def expected(self, lo=None, hi=None):
        return [(BASE_MS + off, lat, lon, alt) for off, lat, lon, alt in self.FIXES
                if (lo is None or BASE_MS + off >= lo) and (hi is None or BASE_MS + off <= hi)]

    def api_doc(self, fmt, **rng):
        q = {"device": "phone", "format": fmt}
        q.update(rng)
        path = "/api/points?" + urllib.parse.urlencode(q)
        st, body = self.m.api(path, "alice", PW)
        self.assertEqual(st, 200, "%s -> %s" % (path, st))
        if isinstance(body, (bytes, bytearray)):
            body = body.decode("utf-8")
        return body

    def cli_doc(self, fmt, *rng):
        return self.m.cli("export", "alice", "phone", "--format", fmt, *rng).stdout

    def assert_points(self, got, want, fmt):
        self.assertEqual([g[0] for g in got], [w[0] for w in want], "%s: fix times" % fmt)
        for g, w in zip(got, want):
            self.assertAlmostEqual(g[1], w[1], delta=1e-7, msg="%s lat" % fmt)
            self.assertAlmostEqual(g[2], w[2], delta=1e-7, msg="%s lon" % fmt)
            if len(g) > 3:
                self.assertIsNotNone(g[3], "%s: no elevation" % fmt)
                self.assertAlmostEqual(g[3], w[3], delta=1e-6, msg="%s ele" % fmt)

    def check_formats(self, want, cli_rng, api_rng):
        # GeoJSON: the CLI prints what the API returns
        cli_gj = json.loads(self.cli_doc("geojson", *cli_rng))
        api_gj = self.api_doc("geojson", **api_rng)
        if isinstance(api_gj, str):
            api_gj = json.loads(api_gj)
        self.assertEqual(cli_gj, api_gj)
        self.assertEqual(cli_gj["type"], "FeatureCollection")
        pts = [(iso_ms(f["properties"]["time"]), f["geometry"]["coordinates"][1],
                f["geometry"]["coordinates"][0], f["geometry"]["coordinates"][2]
                if len(f["geometry"]["coordinates"]) > 2 else f["properties"].get("altitude"))
               for f in cli_gj["features"]]
        self.assert_points(pts, want, "geojson")
        for f in cli_gj["features"]:
            self.assertRegex(f["properties"]["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        # GPX
        cli_gpx, api_gpx = self.cli_doc("gpx", *cli_rng), self.api_doc("gpx", **api_rng)
        self.assertEqual(gpx_points(self, cli_gpx), gpx_points(self, api_gpx))
        self.assert_points(gpx_points(self, cli_gpx), want, "gpx")
        # CSV
        cli_csv, api_csv = self.cli_doc("csv", *cli_rng), self.api_doc("csv", **api_rng)
        self.assertEqual(list(csv.reader(io.StringIO(cli_csv))), list(csv.reader(io.StringIO(api_csv))))
        self.assert_points(csv_points(self, cli_csv), want, "csv")

    def test_export_all(self):
        self.check_formats(self.expected(), [], {})

    def test_export_range_iso_and_epoch(self):
        lo, hi = BASE_MS + 1001, BASE_MS + 60003          # both ends inclusive
        want = self.expected(lo, hi)
        self.assertEqual(len(want), 3)
        iso_lo = "2024-05-01T10:00:01.001Z"
        iso_hi = "2024-05-01T10:01:00.003Z"
        self.check_formats(want, ["--from", iso_lo, "--to", iso_hi], {"from": iso_lo, "to": iso_hi})
        # epoch seconds: 10:00:01 .. 10:01:01 takes the fixes at +1.001, +2.002, +60.003
        self.check_formats(want, ["--from", str(lo // 1000), "--to", str(hi // 1000 + 1)],
                           {"from": str(lo // 1000), "to": str(hi // 1000 + 1)})
        # with an offset: 12:00:01+02:00 is 10:00:01Z
        self.check_formats(want, ["--from", "2024-05-01T12:00:01+02:00", "--to", iso_hi],
                           {"from": "2024-05-01T12:00:01+02:00", "to": iso_hi})
        # a date alone: from midnight; the range before it is empty
        self.check_formats(self.expected(), ["--from", "2024-05-01"], {"from": "2024-05-01"})
        self.check_formats([], ["--to", "2024-04-30"], {"to": "2024-04-30"})
        # epoch seconds up to year 9999: 4102444800 is 2100-01-01, not a day in 1970
        self.check_formats(self.expected(), ["--to", "4102444800"], {"to": "4102444800"})
        self.check_formats([], ["--from", "4102444800"], {"from": "4102444800"})

    def test_export_empty_device(self):
        doc = json.loads(self.m.cli("export", "alice", "empty", "--format", "geojson").stdout)
        self.assertEqual(doc["type"], "FeatureCollection")
        self.assertEqual(doc["features"], [])
        self.assertEqual(gpx_points(self, self.m.cli("export", "alice", "empty", "--format", "gpx").stdout), [])
        rows = list(csv.reader(io.StringIO(self.m.cli("export", "alice", "empty", "--format", "csv").stdout)))
        self.assertEqual(len(rows), 1, "empty CSV must still have its header row")

    @sqlite_only("backup copies mintrac.db into another SQLite file")
    def test_backup(self):
        path = os.path.join(self.m.root, "backup.db")
        cp = self.m.cli("backup", path)        # servers running: online copy
        self.assertEqual(cp.returncode, 0)
        self.assertTrue(os.path.isfile(path))
        if shutil.which("sqlite3"):
            out = subprocess.run(["sqlite3", path, "select count(*) from fixes"], capture_output=True,
                                 text=True, timeout=30)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(out.stdout.strip(), str(len(self.FIXES)))
        db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
        self.addCleanup(db.close)
        self.assertEqual(db.execute("select count(*) from fixes").fetchone()[0], len(self.FIXES))
        self.assertEqual(db.execute("pragma integrity_check").fetchone()[0], "ok")
        # backup to an unwritable place: one error line
        cp = self.m.cli("backup", os.path.join(self.m.root, "no", "such", "dir", "b.db"), check=False)
        one_error_line(self, cp, "backup into a missing directory")


if __name__ == "__main__":
    unittest.main()
