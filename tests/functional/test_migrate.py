"""`mintrac migrate --to LOCATION`: a store copied whole (users, devices with
their tokens, sessions, places, fixes) with a verified count; the copy
serves the same phones and users; run again after more fixes arrive it adds
only those; it refuses a destination holding another installation's users,
and the store itself. From the run's backend to a SQLite file (on the
PostgreSQL run: PostgreSQL to SQLite); test_postgresql.py moves a SQLite
store to PostgreSQL and back."""
import os
import re
import urllib.parse

from harness import Mintrac, ServerCase, basic

USER, PASSWORD = "anna", "anna-password-1"
COUNT = re.compile(r"^(\w+)\s+(\d+) -> (\d+)$", re.M)


def counts(out):
    """{table: (here, there)} from migrate's verification lines."""
    return {m.group(1): (int(m.group(2)), int(m.group(3))) for m in COUNT.finditer(out)}


class MigrateTest(ServerCase):
    users = ((USER, PASSWORD),)

    @classmethod
    def prepare(cls):
        cls.token = cls.m.add_device(USER, "phone")["token"]
        cls.m.cli("demo", USER, "phone", "--date", "2024-05-01")
        cls.m.add_device(USER, "car")

    def post(self, m, ms):
        q = urllib.parse.urlencode({"id": self.token, "lat": "52.52", "lon": "13.405",
                                    "timestamp": str(ms // 1000)})
        return m.request("GET", "/?" + q)

    def test_copy_serves_the_same_phones_and_resumes(self):
        dest = os.path.join(self.m.root, "copy.db")
        st, _, body = self.post(self.m, 1717000000000)
        self.assertEqual(st, 200, body)
        cp = self.m.cli("migrate", "--to", "sqlite:" + dest)
        c = counts(cp.stdout)
        self.assertEqual(c["users"], (1, 1), cp.stdout)
        self.assertEqual(c["devices"], (2, 2), cp.stdout)
        here = c["fixes"][0]
        self.assertGreater(here, 1000)
        self.assertEqual(c["fixes"], (here, here))

        # More fixes in the source: a second run adds just those.
        st, _, body = self.post(self.m, 1717000060000)
        self.assertEqual(st, 200, body)
        cp = self.m.cli("migrate", "--to", "sqlite:" + dest)
        self.assertIn("users    0 copied, 1 there already", cp.stdout)
        self.assertEqual(counts(cp.stdout)["fixes"], (here + 1, here + 1))

        # The copy, served: the phone's token and the user's password work.
        copy = Mintrac(store="sqlite:" + dest)
        try:
            copy.run()
            st, _, body = self.post(copy, 1717000120000)
            self.assertEqual(st, 200, body)
            st, _, body = copy.request("GET", "/api/devices",
                                       headers={"Authorization": basic(USER, PASSWORD)},
                                       port=copy.wport)
            self.assertEqual(st, 200, body)
            self.assertEqual(copy.device_count("phone", USER, PASSWORD), here + 2)
            self.assertEqual(copy.stop_checked(), "")
        finally:
            copy.close()

    def test_refuses_other_installations_and_itself(self):
        other = Mintrac()
        try:
            other.add_user("bob", "bob-password-1")
            dest = other.store or "sqlite:" + os.path.join(other.datadir, "mintrac.db")
            cp = self.m.cli("migrate", "--to", dest, check=False)
            self.assertEqual(cp.returncode, 1)
            self.assertIn("has a user 'bob'", cp.stderr)
            self.assertEqual(other.cli("user", "list").stdout.split(), ["bob"])
        finally:
            other.close()
        itself = self.m.store or os.path.join(self.m.datadir, "mintrac.db")
        cp = self.m.cli("migrate", "--to", itself, check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("the destination is the store itself", cp.stderr)

    def test_usage(self):
        cp = self.m.cli("migrate", check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("usage: mintrac migrate --to", cp.stderr)
