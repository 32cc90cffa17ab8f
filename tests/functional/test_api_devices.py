"""Device management in the webapp: add (token and app settings), list,
rename, delete, new token; names through percent-encoded paths; and one
user never reaching another's devices."""
import calendar
import time
import urllib.parse

from harness import ServerCase
from test_webapp_auth import Browser, BasicClient, dev_path, web

ISO_RE = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"
TOKEN_RE = r"^[A-Za-z0-9_-]{22,}$"
FIX_MS = 1714558530000


class Devices(ServerCase):
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

    def add(self, client, name, ident=None, status=201):
        body = {"name": name}
        if ident is not None:
            body["ident"] = ident
        st, hdrs, doc = client.call("POST", "/api/devices", body)
        self.assertEqual(st, status, doc)
        return doc

    def fix(self, token, n=0, status=200):
        """One OsmAnd fix with token; asserts the receiver's answer."""
        q = urllib.parse.urlencode({"token": token, "lat": 52.5 + n / 1000, "lon": 13.4,
                                    "timestamp": FIX_MS + n * 1000})
        st, _, body = self.m.request("GET", "/osmand?" + q)
        self.assertEqual(st, status, body)

    def listed(self, client):
        st, _, doc = client.call("GET", "/api/devices")
        self.assertEqual(st, 200, doc)
        return {d["name"]: d for d in doc}

    def points(self, client, name):
        path = "/api/points?" + urllib.parse.urlencode({"device": name}, quote_via=urllib.parse.quote)
        return client.call("GET", path)

    def test_add_gives_token_and_settings_that_work(self):
        before = time.time()
        doc = self.add(self.alice, "phone one")
        self.assertEqual(set(doc), {"name", "token", "url", "settings", "text"})
        self.assertEqual(doc["name"], "phone one")
        tok = doc["token"]
        self.assertRegex(tok, TOKEN_RE)
        self.assertEqual(doc["url"], "http://127.0.0.1:%d" % self.m.rport)
        # settings: what `device add --json` prints, for this device.
        cli = self.m.add_device("alice", "cli twin")
        s = doc["settings"]
        self.assertEqual(set(s), set(cli))
        self.assertEqual(set(s["urls"]), set(cli["urls"]))
        self.assertEqual((s["user"], s["device"], s["token"], s["ident"]),
                         ("alice", "phone one", tok, None))
        self.assertTrue(s["urls"]["osmand"].startswith(doc["url"] + "/osmand?token=" + tok + "&"))
        # text: what `device add` prints.
        self.assertIn('Device "phone one" of alice', doc["text"])
        self.assertIn("token: " + tok, doc["text"])
        self.assertIn(s["urls"]["osmand"], doc["text"])
        self.assertIn("Traccar Client", doc["text"])
        # The token works on the receiver at once.
        self.fix(tok)
        d = self.listed(self.alice)["phone one"]
        self.assertEqual(d["points"], 1)
        self.assertIsNone(d["ident"])
        self.assertRegex(d["created"], ISO_RE)
        created = calendar.timegm(time.strptime(d["created"][:19], "%Y-%m-%dT%H:%M:%S"))
        self.assertLess(abs(created - before), 120, d["created"])
        self.assertEqual(d["last"]["type"], "Feature")
        self.assertEqual(d["last"]["geometry"]["coordinates"][:2], [13.4, 52.5])

    def test_add_with_ident(self):
        doc = self.add(self.alice, "car", ident="353977105551234")
        self.assertEqual(doc["settings"]["ident"], "353977105551234")
        self.assertIn("ident: 353977105551234", doc["text"])
        st, _, body = self.m.request("GET", "/?id=353977105551234&lat=1.5&lon=2.5&timestamp=%d" % FIX_MS)
        self.assertEqual(st, 200, body)
        d = self.listed(self.alice)["car"]
        self.assertEqual((d["ident"], d["points"]), ("353977105551234", 1))
        # An ident is one device's only.
        doc = self.add(self.alice, "car two", ident="353977105551234", status=409)
        self.assertIn("error", doc)
        self.add(self.bob, "car", ident="353977105551234", status=409)

    def test_add_refuses_bad_names_and_bodies(self):
        cases = [{"name": ""}, {"name": "x" * 65}, {"name": "a/b"}, {"name": "tab\there"},
                 {"name": "bell\x07"}, {"name": "del\x7f"}, {"name": "c1\u0085"}, {"name": 5},
                 {}, {"name": "ok", "ident": ""}, {"name": "ok", "ident": "a&b"},
                 {"name": "ok", "ident": "9" * 129}, {"name": "ok", "ident": 5}]
        for body in cases:
            with self.subTest(body=body):
                st, _, doc = self.alice.call("POST", "/api/devices", body)
                self.assertEqual(st, 400, doc)
                self.assertEqual(set(doc), {"error"})
                self.assertNotIn("\n", doc["error"])
        for raw in ("[]", "not json", '"name"', '{"name":"nul\\u0000"}', ""):
            with self.subTest(raw=raw):
                st, _, doc = self.alice.call("POST", "/api/devices", raw,
                                             headers={"Content-Type": "application/json"})
                self.assertEqual(st, 400, doc)
        self.assertNotIn("ok", self.listed(self.alice))
        # 64 characters are fine, however many bytes they take.
        self.add(self.alice, "\u00e9" * 64)
        self.add(self.alice, "\U0001F6B2" * 64)
        # A name is the user's only.
        self.add(self.alice, "twice")
        doc = self.add(self.alice, "twice", status=409)
        self.assertIn("error", doc)

    def test_new_token_replaces_the_old_at_once(self):
        doc = self.add(self.alice, "regen")
        old = doc["token"]
        self.fix(old, 0)
        st, _, new = self.alice.call("POST", dev_path("regen", "/token"))
        self.assertEqual(st, 200, new)
        self.assertEqual(set(new), {"name", "token", "url", "settings", "text"})
        self.assertEqual(new["name"], "regen")
        self.assertRegex(new["token"], TOKEN_RE)
        self.assertNotEqual(new["token"], old)
        self.assertEqual(new["settings"]["token"], new["token"])
        self.assertIn("token: " + new["token"], new["text"])
        self.fix(old, 1, status=401)
        self.fix(new["token"], 2)
        self.assertEqual(self.listed(self.alice)["regen"]["points"], 2)

    def test_rename(self):
        tok = self.add(self.alice, "before")["token"]
        self.fix(tok)
        st, _, doc = self.alice.call("PATCH", dev_path("before"), {"name": "after"})
        self.assertEqual((st, doc), (200, {"name": "after"}))
        st, _, doc = self.points(self.alice, "after")
        self.assertEqual(st, 200, doc)
        self.assertEqual(len(doc["features"]), 1)
        st, _, doc = self.points(self.alice, "before")
        self.assertEqual(st, 404, doc)
        # The token is the device's, whatever its name.
        self.fix(tok, 1)
        self.assertEqual(self.listed(self.alice)["after"]["points"], 2)
        # Same name: nothing to do. Taken, unknown, bad: refused.
        st, _, doc = self.alice.call("PATCH", dev_path("after"), {"name": "after"})
        self.assertEqual((st, doc), (200, {"name": "after"}))
        self.add(self.alice, "taken")
        st, _, doc = self.alice.call("PATCH", dev_path("after"), {"name": "taken"})
        self.assertEqual(st, 409, doc)
        st, _, doc = self.alice.call("PATCH", dev_path("no such"), {"name": "x"})
        self.assertEqual(st, 404, doc)
        for body in ({"name": "a/b"}, {"name": ""}, {}, [1]):
            with self.subTest(body=body):
                st, _, doc = self.alice.call("PATCH", dev_path("after"), body)
                self.assertEqual(st, 400, doc)
        self.assertIn("after", self.listed(self.alice))

    def test_delete_takes_the_fixes(self):
        tok = self.add(self.alice, "doomed")["token"]
        self.fix(tok, 0)
        self.fix(tok, 1)
        st, _, doc = self.alice.call("DELETE", dev_path("doomed"))
        self.assertEqual((st, doc), (200, {"deleted": 2}))
        self.assertNotIn("doomed", self.listed(self.alice))
        self.assertEqual(self.points(self.alice, "doomed")[0], 404)
        self.fix(tok, 2, status=401)
        st, _, doc = self.alice.call("DELETE", dev_path("doomed"))
        self.assertEqual(st, 404, doc)
        # A new device of that name starts empty.
        self.add(self.alice, "doomed")
        self.assertEqual(self.listed(self.alice)["doomed"]["points"], 0)

    def test_names_round_trip_through_paths(self):
        names = ["Anna's phone", "with  spaces ", 'say "cheese"', "\u00dcn\u00efc\u00f6d\u00e9 \U0001F6B2",
                 "<img src=x>", "100% sure", "a+b", "why?#hash", "semi;colon&amp", "back\\slash",
                 "\u043c\u043e\u0439 \u0442\u0435\u043b\u0435\u0444\u043e\u043d"]
        for i, name in enumerate(names):
            with self.subTest(name=name):
                doc = self.add(self.alice, name)
                self.assertEqual(doc["name"], name)
                self.assertIn(name, self.listed(self.alice))
                st, _, tdoc = self.alice.call("POST", dev_path(name, "/token"))
                self.assertEqual(st, 200, tdoc)
                self.assertEqual(tdoc["name"], name)
                self.fix(tdoc["token"], i)
                new = name + " (renamed)"
                st, _, rdoc = self.alice.call("PATCH", dev_path(name), {"name": new})
                self.assertEqual((st, rdoc), (200, {"name": new}))
                st, _, pdoc = self.points(self.alice, new)
                self.assertEqual((st, len(pdoc["features"])), (200, 1))
                st, _, ddoc = self.alice.call("DELETE", dev_path(new))
                self.assertEqual((st, ddoc), (200, {"deleted": 1}))
                self.assertNotIn(new, self.listed(self.alice))
        # '/' is never part of a name, so %2F in a path names nothing.
        self.add(self.alice, "a")
        self.assertEqual(self.alice.call("DELETE", "/api/devices/a%2Fb")[0], 404)
        self.assertIn("a", self.listed(self.alice))

    def test_unknown_paths(self):
        self.add(self.alice, "paths")
        for method, path in (("POST", dev_path("paths", "/nope")),
                             ("POST", dev_path("paths")),
                             ("POST", dev_path("paths", "/token/x")),
                             ("PATCH", dev_path("paths", "/token")),
                             ("DELETE", dev_path("paths", "/token")),
                             ("DELETE", dev_path("paths", "/")),
                             ("POST", "/api/devices/%FF%FE/token"),
                             ("DELETE", "/api/devices/%00x"),
                             ("POST", "/api/devices//token")):
            with self.subTest(method=method, path=path):
                body = {"name": "renamed"} if method == "PATCH" else None
                st, _, doc = self.alice.call(method, path, body)
                self.assertEqual(st, 404, doc)
                self.assertIn("error", doc)
        st, hdrs, doc = self.alice.call("GET", dev_path("paths"))
        self.assertEqual(st, 405, doc)
        self.assertIn("paths", self.listed(self.alice))

    def test_users_never_reach_each_others_devices(self):
        a = self.add(self.alice, "shared name")
        self.fix(a["token"], 0)
        bob_sees = self.listed(self.bob)
        self.assertNotIn("shared name", bob_sees)
        for name in self.listed(self.alice):
            self.assertNotIn(name, bob_sees)
        st, _, doc = self.bob.call("PATCH", dev_path("shared name"), {"name": "mine now"})
        self.assertEqual(st, 404, doc)
        st, _, doc = self.bob.call("POST", dev_path("shared name", "/token"))
        self.assertEqual(st, 404, doc)
        self.assertNotIn("token", doc)
        st, _, doc = self.bob.call("DELETE", dev_path("shared name"))
        self.assertEqual(st, 404, doc)
        self.assertEqual(self.points(self.bob, "shared name")[0], 404)
        # The name is free for bob, and his device is his own.
        b = self.add(self.bob, "shared name")
        self.assertNotEqual(b["token"], a["token"])
        self.fix(b["token"], 5)
        self.fix(b["token"], 6)
        self.assertEqual(self.listed(self.bob)["shared name"]["points"], 2)
        self.assertEqual(self.listed(self.alice)["shared name"]["points"], 1)
        st, _, doc = self.bob.call("DELETE", dev_path("shared name"))
        self.assertEqual((st, doc), (200, {"deleted": 2}))
        # Alice's device, token and fixes are untouched.
        self.assertEqual(self.listed(self.alice)["shared name"]["points"], 1)
        self.fix(a["token"], 1)
        st, _, doc = self.points(self.alice, "shared name")
        self.assertEqual((st, len(doc["features"])), (200, 2))

    def test_list_shape(self):
        self.m.add_device("alice", "from cli", ident="imei-77")
        d = self.listed(self.alice)["from cli"]
        self.assertEqual(set(d), {"name", "ident", "created", "last", "points"})
        self.assertEqual((d["ident"], d["last"], d["points"]), ("imei-77", None, 0))
        self.assertRegex(d["created"], ISO_RE)
