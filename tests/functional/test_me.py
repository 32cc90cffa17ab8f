"""The caller's settings (docs/design.md "Local days"): a time zone per
user, set with `mintrac user set USER --timezone ZONE` or `PATCH /api/me`,
read with `GET /api/me`; default UTC; only names of the system's zone
database are taken."""
from harness import ServerCase
from test_webapp_auth import Browser, BasicClient


class Me(ServerCase):
    users = (("alice", "alice-secret-1"), ("bob", "bob-secret-22"))

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.alice = Browser(cls.m, "alice", "alice-secret-1")
        except BaseException:
            cls.m.close()
            raise
        cls.bob = BasicClient(cls.m, "bob", "bob-secret-22")

    def test_default_then_set_from_the_cli(self):
        self.m.cli("user", "add", "carol", "--password-stdin", stdin="carol-secret-3\n")
        carol = BasicClient(self.m, "carol", "carol-secret-3")
        st, _, doc = carol.call("GET", "/api/me")
        self.assertEqual((st, doc), (200, {"name": "carol", "timezone": "UTC"}))
        cp = self.m.cli("user", "set", "carol", "--timezone", "America/New_York")
        self.assertIn("America/New_York", cp.stdout)
        self.assertEqual(carol.call("GET", "/api/me")[2]["timezone"], "America/New_York")
        for args, why in ((("carol", "--timezone", "Mars/Base"), "unknown time zone"),
                          (("carol", "--timezone", "../../etc/passwd"), "not a time zone"),
                          (("nobody", "--timezone", "UTC"), "nobody"),
                          (("carol", "--zone", "UTC"), "usage"),
                          (("carol",), "usage")):
            with self.subTest(args=args):
                cp = self.m.cli("user", "set", *args, check=False)
                self.assertNotEqual(cp.returncode, 0)
                self.assertIn(why, cp.stderr)
        self.assertEqual(carol.call("GET", "/api/me")[2]["timezone"], "America/New_York")

    def test_patch_from_the_page_and_by_script(self):
        st, _, doc = self.alice.call("PATCH", "/api/me", {"timezone": "Europe/Berlin"})
        self.assertEqual((st, doc), (200, {"name": "alice", "timezone": "Europe/Berlin"}))
        # Changing the zone signs nobody out.
        st, _, doc = self.alice.call("GET", "/api/me")
        self.assertEqual((st, doc["timezone"]), (200, "Europe/Berlin"))
        # bob's is his own.
        st, _, doc = self.bob.call("PATCH", "/api/me", {"timezone": "Asia/Kolkata"})
        self.assertEqual((st, doc["timezone"]), (200, "Asia/Kolkata"))
        self.assertEqual(self.alice.call("GET", "/api/me")[2]["timezone"], "Europe/Berlin")
        # The page needs its CSRF token to change it.
        st, _, _ = self.alice.call("PATCH", "/api/me", {"timezone": "UTC"}, csrf=False)
        self.assertEqual(st, 403)
        self.assertEqual(self.alice.call("GET", "/api/me")[2]["timezone"], "Europe/Berlin")

    def test_bad_values_are_400_and_change_nothing(self):
        self.bob.call("PATCH", "/api/me", {"timezone": "Asia/Tokyo"})
        for body in ({"timezone": "Europe/Atlantis"}, {"timezone": "/etc/passwd"},
                     {"timezone": 5}, {"timezone": None}, {"name": "eve"}, [1], "{no json",
                     {"timezone": "UTC", "timezone2": "UTC"}):
            with self.subTest(body=body):
                st, _, doc = self.bob.call("PATCH", "/api/me", body)
                self.assertEqual(st, 400, doc)
                self.assertIn("error", doc)
        self.assertEqual(self.bob.call("GET", "/api/me")[2],
                         {"name": "bob", "timezone": "Asia/Tokyo"})
