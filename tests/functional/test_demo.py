"""`mintrac demo`: a generated day on the demo device, visible through
GET /api/points; adding it again adds nothing; `demo --remove` takes out
exactly the demo fixes (of a device, a user's devices, or all devices) and
leaves fixes that phones posted alone; --date picks the day in local time;
unknown names and bad dates fail with one line on stderr and exit 1."""
import datetime
import re
import unittest
import urllib.parse

from harness import Mintrac, ServerCase

USER = "demo"
PASSWORD = "demo-password-1"
ADDED = re.compile(r"^(.+): added (\d+) demo fixes on (\d{4}-\d\d-\d\d) \((\d+) were stored already\)")
REMOVED = re.compile(r"^removed (\d+) demo fixes from ")
# Central European time without tzdata: POSIX rules that glibc reads itself.
CET = "CET-1CEST,M3.5.0,M10.5.0/3"


def time_ms(iso):
    """Milliseconds since the epoch of a "YYYY-MM-DDTHH:MM:SS.sssZ" time."""
    dt = datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return int(round(dt.timestamp() * 1000))


class DemoTest(ServerCase):
    users = ((USER, PASSWORD), ("eve", "eve-secret-1"), ("frank", "frank-secret-1"))

    @classmethod
    def prepare(cls):
        cls.token = cls.m.add_device(USER, "demo-phone")["token"]
        cls.m.add_device("eve", "a")
        cls.m.add_device("eve", "b")
        cls.frank_token = cls.m.add_device("frank", "f")["token"]

    def demo(self, *args, env=None):
        """Runs `mintrac demo ARGS`: (added, date, stored before)."""
        cp = self.m.cli("demo", *args, env=env)
        lines = cp.stdout.splitlines()
        self.assertTrue(lines, "demo printed nothing")
        m = ADDED.match(lines[-1])
        self.assertIsNotNone(m, "demo output %r" % cp.stdout)
        self.assertEqual(cp.stderr, "")
        return int(m.group(2)), m.group(3), int(m.group(4))

    def remove(self, *args):
        cp = self.m.cli("demo", "--remove", *args)
        m = REMOVED.match(cp.stdout)
        self.assertIsNotNone(m, "demo --remove output %r" % cp.stdout)
        return int(m.group(1))

    def post(self, token, ms, lat="52.52", lon="13.405"):
        q = urllib.parse.urlencode({"token": token, "lat": lat, "lon": lon, "timestamp": str(ms)})
        st, _, body = self.m.request("GET", "/osmand?" + q)
        self.assertEqual(st, 200, body)

    def test_add_again_and_remove_keeps_phone_fixes(self):
        n, date, before = self.demo()
        self.assertTrue(4000 <= n <= 10000, n)
        self.assertEqual(before, 0)
        feats = self.m.points("demo-phone", USER, PASSWORD)
        self.assertEqual(len(feats), n)
        times = [time_ms(f["properties"]["time"]) for f in feats]
        self.assertEqual(times, sorted(set(times)))
        for f in feats:
            p = f["properties"]
            self.assertEqual(p.get("attributes"), {"demo": True})
            for k in ("speed", "altitude", "accuracy", "battery"):
                self.assertIn(k, p)
            lon, lat = f["geometry"]["coordinates"][:2]
            self.assertTrue(52.49 < lat < 52.54 and 13.34 < lon < 13.47, (lat, lon))

        # Idempotent: the same day again stores nothing new (named, so
        # that the run cannot pass the end of the demo day in between).
        n2, date2, before2 = self.demo(USER, "demo-phone", "--date", date)
        self.assertEqual((n2, date2, before2), (0, date, n))
        self.assertEqual(self.m.device_count("demo-phone", USER, PASSWORD), n)

        # A fix from the phone in the middle of the demo day stays.
        real = (times[n // 2] + times[n // 2 + 1]) // 2
        self.assertNotIn(real, times)
        self.post(self.token, real)
        self.assertEqual(self.m.device_count("demo-phone", USER, PASSWORD), n + 1)

        self.assertEqual(self.remove(USER, "demo-phone"), n)
        feats = self.m.points("demo-phone", USER, PASSWORD)
        self.assertEqual(len(feats), 1)
        self.assertEqual(time_ms(feats[0]["properties"]["time"]), real)
        self.assertNotIn("demo", feats[0]["properties"].get("attributes") or {})
        self.assertEqual(self.m.device_count("demo-phone", USER, PASSWORD), 1)
        self.assertEqual(self.remove(USER, "demo-phone"), 0)

    def test_date_is_local_and_remove_by_user_and_all(self):
        # --date in UTC: the day runs from morning to evening of that date.
        n1, date, _ = self.demo("eve", "a", "--date", "2024-05-01", env={"TZ": "UTC"})
        self.assertEqual(date, "2024-05-01")
        feats = self.m.points("a", "eve", "eve-secret-1")
        self.assertEqual(len(feats), n1)
        for f in feats:
            t = f["properties"]["time"]
            self.assertTrue("2024-05-01T08:00" <= t < "2024-05-01T19:00", t)
        # In Berlin summer time the same hours are two hours earlier in UTC.
        n2, _, _ = self.demo("eve", "b", "--date", "2024-05-02", env={"TZ": CET})
        for f in self.m.points("b", "eve", "eve-secret-1"):
            t = f["properties"]["time"]
            self.assertTrue("2024-05-02T06:00" <= t < "2024-05-02T17:00", t)
        self.assertEqual(self.demo("eve", "b", "--date", "2024-05-02", env={"TZ": CET})[0], 0)

        n3, _, _ = self.demo("frank", "f", "--date", "2024-05-01", env={"TZ": "UTC"})
        feats = self.m.points("f", "frank", "frank-secret-1")
        real = time_ms(feats[0]["properties"]["time"]) + 1
        self.post(self.frank_token, real)

        # A user's devices: eve's two, not frank's.
        self.assertEqual(self.remove("eve"), n1 + n2)
        self.assertEqual(self.m.device_count("a", "eve", "eve-secret-1"), 0)
        self.assertEqual(self.m.device_count("b", "eve", "eve-secret-1"), 0)
        self.assertEqual(self.m.device_count("f", "frank", "frank-secret-1"), n3 + 1)

        # Every device: frank's demo fixes too (and any another test left).
        self.assertGreaterEqual(self.remove(), n3)
        feats = self.m.points("f", "frank", "frank-secret-1")
        self.assertEqual([time_ms(f["properties"]["time"]) for f in feats], [real])
        self.assertEqual(self.remove(), 0)

    def test_errors_are_one_line(self):
        cases = [
            ("nobody", "phone"),                          # unknown user
            (USER, "no-such-device"),                     # unknown device
            ("--remove", "nobody"),
            ("--remove", USER, "no-such-device"),
            (USER, "demo-phone", "--date", "2024-02-30"),  # no such date
            (USER, "demo-phone", "--date", "2024-5-1"),
            (USER, "demo-phone", "--date", "2999-01-01"),  # in the future
            (USER,),                                      # USER without DEVICE
            ("bad name!", "x"),
            ("--bogus",),
        ]
        before = self.m.device_count("demo-phone", USER, PASSWORD)
        for args in cases:
            cp = self.m.cli("demo", *args, check=False)
            self.assertEqual(cp.returncode, 1, (args, cp.stdout, cp.stderr))
            self.assertEqual(cp.stdout, "", args)
            self.assertTrue(cp.stderr.startswith("mintrac: ") and cp.stderr.count("\n") == 1,
                            (args, cp.stderr))
        # A refused day stores nothing.
        self.assertEqual(self.m.device_count("demo-phone", USER, PASSWORD), before)

    def test_defaults_missing_say_how_to_create_them(self):
        fresh = Mintrac()
        try:
            cp = fresh.cli("demo", check=False)
            self.assertEqual(cp.returncode, 1)
            self.assertEqual(cp.stderr.count("\n"), 1, cp.stderr)
            self.assertIn("user add demo", cp.stderr)
        finally:
            fresh.close()


if __name__ == "__main__":
    unittest.main()
