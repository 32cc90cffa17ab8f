"""Pruning (docs/design.md "Bringing history in, taking it away"):
`mintrac prune --older-than AGE` (the count first; asks on a terminal,
refuses without --yes otherwise) and the setting `retention`, which the
webapp applies daily, the first time prune_delay after it starts. Both
delete only fixes older than now minus the age, in short transactions
while the receiver keeps answering, and the history follows."""
import os
import threading
import time

import harness
from harness import Mintrac, ServerCase
from test_webapp_auth import BasicClient

ALICE = ("alice", "alice-secret-1")
BOB = ("bob", "bob-secret-22")
DAY = 86400
NOW = int(time.time())
OLD = NOW - 3 * 365 * DAY        # older than 2y
RECENT = NOW - 300 * DAY         # younger than 1y
BIG = 60000


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def day_of(t):
    return time.strftime("%Y-%m-%d", time.gmtime(t))


def import_rows(m, user, device, start, n, step=60, spread=0.0):
    """n fixes from start, step seconds apart, at one spot (a stay) unless
    spread moves each one."""
    path = os.path.join(m.root, "%s-%s-%d.csv" % (user, device, start))
    with open(path, "w") as f:
        f.write("time,lat,lon\n")
        for i in range(n):
            f.write("%s,%.6f,13.4\n" % (iso(start + step * i), 52.5 + i * spread))
    m.cli("import", user, device, path)


def kinds(client, device, t):
    st, _, doc = client.call("GET", "/api/trips?device=%s&from=%s&to=%s"
                             % (device, day_of(t), day_of(t)))
    assert st == 200, doc
    return [s["kind"] for s in doc["segments"]]


class PruneCli(ServerCase):
    users = (ALICE, BOB)

    @classmethod
    def prepare(cls):
        m = cls.m
        for user, dev in (("alice", "phone"), ("alice", "car"), ("bob", "watch")):
            m.add_device(user, dev)
            import_rows(m, user, dev, OLD, 40)          # a 40 min stay, 3 years ago
            import_rows(m, user, dev, RECENT, 10)

    def setUp(self):
        self.alice = BasicClient(self.m, *ALICE)

    def test_1_count_and_refusal_without_yes(self):
        cp = self.m.cli("prune", "--older-than", "2y", check=False)    # stdin: no terminal
        self.assertNotEqual(cp.returncode, 0)
        self.assertIn("120 fixes older than 2y", cp.stdout)
        self.assertIn("every user", cp.stdout)
        self.assertIn("--yes", cp.stderr)
        cp = self.m.cli("prune", "--older-than", "2y", "alice", check=False)
        self.assertIn("80 fixes older than 2y", cp.stdout)
        cp = self.m.cli("prune", "--older-than", "2y", "alice", "car", check=False)
        self.assertIn("40 fixes older than 2y", cp.stdout)
        self.assertNotEqual(cp.returncode, 0)
        self.assertEqual(self.m.device_count("phone", *ALICE), 50)
        self.assertEqual(self.m.device_count("car", *ALICE), 50)
        # Nothing that old: the count, and no question.
        cp = self.m.cli("prune", "--older-than", "10y")
        self.assertIn("0 fixes older than 10y", cp.stdout)

    def test_2_yes_deletes_only_older_fixes_and_history_follows(self):
        self.assertEqual(kinds(self.alice, "phone", OLD), ["stay"])
        cp = self.m.cli("prune", "--older-than", "2y", "alice", "phone", "--yes")
        self.assertIn("deleted 40 fixes", cp.stdout)
        self.assertEqual(self.m.device_count("phone", *ALICE), 10)
        self.assertEqual(self.m.device_count("car", *ALICE), 50)
        left = self.m.points("phone", *ALICE)
        self.assertEqual([f["properties"]["time"][:19] for f in left],
                         [iso(RECENT + 60 * i)[:19] for i in range(10)])
        # The history follows at once (the CLI derives before it returns).
        self.assertEqual(kinds(self.alice, "phone", OLD), [])
        self.assertEqual(kinds(self.alice, "car", OLD), ["stay"])
        # Every user's: bob's too, the recent fixes stay.
        cp = self.m.cli("prune", "--older-than", "2y", "--yes")
        self.assertIn("deleted 80 fixes", cp.stdout)
        self.assertEqual(self.m.device_count("car", *ALICE), 10)
        self.assertEqual(self.m.device_count("watch", *BOB), 10)
        # A younger age reaches the recent ones.
        cp = self.m.cli("prune", "--older-than", "9m", "bob", "--yes")
        self.assertIn("deleted 10 fixes", cp.stdout)
        self.assertEqual(self.m.device_count("watch", *BOB), 0)

    def test_3_bad_arguments(self):
        for args, why in ((("prune",), "--older-than"),
                          (("prune", "--older-than"), "needs a value"),
                          (("prune", "--older-than", "0d"), "--older-than"),
                          (("prune", "--older-than", "-1y"), "--older-than"),
                          (("prune", "--older-than", "2"), "--older-than"),
                          (("prune", "--older-than", "99999999999999999999d"), "--older-than"),
                          (("prune", "--older-than", "2y", "nobody"), "nobody"),
                          (("prune", "--older-than", "2y", "alice", "nope"), "nope"),
                          (("prune", "--older-than", "2y", "--force"), "--force")):
            with self.subTest(args=args):
                cp = self.m.cli(*args, check=False)
                self.assertNotEqual(cp.returncode, 0)
                self.assertIn(why, cp.stderr)
                self.assertEqual(len(cp.stderr.strip().splitlines()), 1, cp.stderr)


class BadRetention(ServerCase):
    users = ()

    def test_a_bad_value_stops_the_start(self):
        for env in ({"MINTRAC_RETENTION": "0d"}, {"MINTRAC_RETENTION": "2x"},
                    {"MINTRAC_RETENTION": "-1y"}, {"MINTRAC_PRUNE_DELAY": "0"}):
            with self.subTest(env=env):
                cp = self.m.cli("run", env=env, check=False)
                self.assertNotEqual(cp.returncode, 0)
                key = list(env)[0]
                self.assertIn(key, cp.stderr)
                self.assertIn(key[8:].lower(), cp.stderr)
        m = Mintrac(conf={"retention": "18 months"})
        try:
            cp = m.cli("run", check=False)
            self.assertNotEqual(cp.returncode, 0)
            self.assertIn("mintrac.conf", cp.stderr)
            self.assertIn("retention: expected an age such as 30d, 2w, 6m or 2y", cp.stderr)
        finally:
            m.close()


class Retention(ServerCase):
    """retention = 1y: the old fixes of every user go within seconds of the
    start, the recent ones stay, the receiver keeps answering meanwhile."""
    users = (ALICE, BOB)
    conf = {"retention": "1y", "prune_delay": "2s"}

    @classmethod
    def prepare(cls):
        m = cls.m
        cls.token = m.add_device("alice", "phone")["token"]
        import_rows(m, "alice", "phone", OLD, 40)
        import_rows(m, "alice", "phone", RECENT, 10)
        m.add_device("alice", "big")
        import_rows(m, "alice", "big", OLD, BIG, step=1, spread=1e-6)
        import_rows(m, "alice", "big", RECENT, 5)
        m.add_device("bob", "watch")
        import_rows(m, "bob", "watch", OLD, 7)
        import_rows(m, "bob", "watch", RECENT, 3)

    def test_old_fixes_vanish_new_ones_stay(self):
        alice = BasicClient(self.m, *ALICE)
        # The receiver answers meanwhile; the loop runs until the prune's
        # line is in the log.
        worst = 0.0
        i = 0
        deadline = time.monotonic() + 120
        while "prune (retention 1y): deleted" not in self.m.log():
            self.assertLess(time.monotonic(), deadline, "no prune within 120 s:\n" + self.m.log())
            t0 = time.monotonic()
            st, _, _ = self.m.request("GET", "/osmand?id=%s&lat=52.5&lon=13.4&timestamp=%d"
                                      % (self.token, NOW - 3600 + i))
            worst = max(worst, time.monotonic() - t0)
            self.assertEqual(st, 200)
            i += 1
            time.sleep(0.05)
        # The prune starts 2 s after the start and takes seconds for 60,000
        # fixes: the receiver was asked while it ran.
        self.assertGreaterEqual(i, 3, "the prune was over before the receiver was asked")
        # As in test_delete: tens of milliseconds in the release build. The
        # ASan build, several times slower at everything, stays under 1 s
        # on a quiet machine but was seen at 1.02 s beside a benchmark: 2 s.
        limit = 2.0 if "/asan/" in harness.BIN else 1.0
        self.assertLess(worst, limit, "the receiver took %.2f s during the prune" % worst)
        lines = [l for l in self.m.log().splitlines() if "prune (retention 1y)" in l]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("deleted %d fixes older than" % (40 + BIG + 7), lines[0])
        self.assertEqual(self.m.device_count("phone", *ALICE), 10 + i)
        self.assertEqual(self.m.device_count("big", *ALICE), 5)
        self.assertEqual(self.m.device_count("watch", *BOB), 3)
        # The history follows (the deriver is kicked after the prune).
        deadline = time.monotonic() + 10
        while kinds(alice, "phone", OLD) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(kinds(alice, "phone", OLD), [])
        self.assertEqual(kinds(alice, "phone", RECENT), ["stay"])
