"""History over HTTP (docs/design.md "History: stays, trips, places, days,
stats"): a day sent by a phone becomes stays and trips within 2 s, stays
get places the user can name, move and delete, the day and the year are
counted in the user's zone, and nobody sees another user's history."""
import json
import math
import time

from harness import ServerCase
from test_webapp_auth import BasicClient, web

ALICE = ("alice", "alice-secret-1")
BOB = ("bob", "bob-secret-22")
HOME = (52.5200, 13.4000)
WORK = (52.5650, 13.4600)        # ~6.5 km north-east


def metres(a, b):
    dlat = math.radians(b[0] - a[0])
    dlon = math.radians(b[1] - a[1]) * math.cos(math.radians(a[0]))
    return 6371008.8 * math.hypot(dlat, dlon)


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class Day:
    """A phone's day: home, drive, work, drive, home, as Overland features."""

    def __init__(self, t0):
        self.t = t0
        self.feats = []
        self.driven = 0.0
        self.n = 0

    def fix(self, lat, lon, acc=8):
        self.feats.append({"type": "Feature",
                           "geometry": {"type": "Point", "coordinates": [lon, lat]},
                           "properties": {"timestamp": iso(self.t), "horizontal_accuracy": acc}})

    def stay(self, at, minutes, every=30):
        for i in range(int(minutes * 60 / every)):
            # a few metres of jitter, the same every day
            j = ((i * 7919) % 11 - 5) * 1e-5
            self.fix(at[0] + j, at[1] - j)
            self.t += every

    def drive(self, a, b, minutes, every=5):
        steps = int(minutes * 60 / every)
        prev = a
        for i in range(1, steps + 1):
            p = (a[0] + (b[0] - a[0]) * i / steps, a[1] + (b[1] - a[1]) * i / steps)
            self.driven += metres(prev, p)
            prev = p
            self.fix(*p)
            self.t += every


class History(ServerCase):
    users = (ALICE, BOB)
    T0 = 1714543200          # 2024-05-01T06:00:00Z = 08:00 in Berlin

    @classmethod
    def prepare(cls):
        # Offline names for new places (scripts/setup.sh installs the data).
        cls.geo = cls.m.cli("geo", "load", check=False).returncode == 0
        cls.m.add_device("alice", "phone")
        cls.token = cls.m.new_token("alice", "phone")
        cls.m.add_device("bob", "bobphone")

    def setUp(self):
        self.alice = BasicClient(self.m, *ALICE)
        self.bob = BasicClient(self.m, *BOB)

    def send(self, feats):
        st, _, data = self.m.request("POST", "/overland", json.dumps({"locations": feats}),
                                     {"Authorization": "Bearer " + self.token,
                                      "Content-Type": "application/json"})
        self.assertEqual(st, 200, data)

    def trips(self, client=None, **q):
        q.setdefault("device", "phone")
        path = "/api/trips?" + "&".join("%s=%s" % kv for kv in q.items())
        return (client or self.alice).call("GET", path)

    def wait_segments(self, want_kinds, limit=5.0):
        """Polls /api/trips until the kinds match; returns (doc, seconds)."""
        t0 = time.monotonic()
        while True:
            st, _, doc = self.trips(**{"from": "2024-05-01", "to": "2024-05-01"})
            self.assertEqual(st, 200, doc)
            kinds = [s["kind"] for s in doc["segments"]]
            if kinds == want_kinds:
                return doc, time.monotonic() - t0
            if time.monotonic() - t0 > limit:
                self.fail("segments %r, want %r" % (kinds, want_kinds))
            time.sleep(0.05)

    def test_a_day(self):
        day = Day(self.T0)
        day.stay(HOME, 30)
        d1 = day.driven
        day.drive(HOME, WORK, 12)
        d1 = day.driven - d1
        day.stay(WORK, 60)
        day.drive(WORK, HOME, 12)
        day.stay(HOME, 30)
        self.send(day.feats)
        doc, took = self.wait_segments(["stay", "trip", "stay", "trip", "stay"])
        self.assertLess(took, 2.0, "history shown %.2f s after the commit" % took)
        segs = doc["segments"]
        self.assertEqual(doc["device"], "phone")
        self.assertTrue(segs[-1].get("open"))
        self.assertNotIn("open", segs[0])
        for trip in (segs[1], segs[3]):
            self.assertEqual(trip["mode"], "drive")
            self.assertAlmostEqual(trip["distance"], d1, delta=0.1 * d1)
            self.assertGreater(trip["max_speed"], trip["avg_speed"] * 0.9)
            self.assertNotIn("gap", trip)
        self.assertLess(metres((segs[0]["lat"], segs[0]["lon"]), HOME), 30)
        self.assertLess(metres((segs[2]["lat"], segs[2]["lon"]), WORK), 30)
        self.assertEqual(segs[1]["start"], segs[0]["end"])
        home_id = segs[0]["place"]["id"]
        self.assertEqual(segs[4]["place"]["id"], home_id)
        self.assertNotEqual(segs[2]["place"]["id"], home_id)
        self.assertIsNone(segs[0]["place"]["name"])
        if self.geo:
            self.assertEqual((segs[0]["place"]["city"], segs[0]["place"]["country"]),
                             ("Berlin", "DE"))

        # Places: two, home visited twice; naming it names both stays.
        st, _, places = self.alice.call("GET", "/api/places")
        self.assertEqual(st, 200, places)
        self.assertEqual(len(places), 2)
        home = [p for p in places if p["id"] == home_id][0]
        self.assertEqual(home["visits"], 2)
        st, _, p = self.alice.call("PATCH", "/api/places/%d" % home_id, {"name": "Home"})
        self.assertEqual((st, p["name"]), (200, "Home"))
        doc = self.trips(**{"from": "2024-05-01", "to": "2024-05-01"})[2]
        self.assertEqual([s["place"]["name"] for s in doc["segments"] if s["kind"] == "stay"],
                         ["Home", None, "Home"])
        # A place drawn over work takes its stay; a deleted one gives it up
        # and is not made again when the history is derived anew.
        st, _, office = self.alice.call("POST", "/api/places",
                                        {"name": "Office", "lat": WORK[0], "lon": WORK[1],
                                         "radius": 300})
        self.assertEqual((st, office["name"], office["visits"]), (201, "Office", 1))
        doc = self.trips(**{"from": "2024-05-01", "to": "2024-05-01"})[2]
        self.assertEqual(doc["segments"][2]["place"]["name"], "Office")
        st, _, _ = self.alice.call("DELETE", "/api/places/%d" % office["id"])
        self.assertEqual(st, 200)
        doc = self.trips(**{"from": "2024-05-01", "to": "2024-05-01"})[2]
        self.assertIsNone(doc["segments"][2]["place"])
        # A late fix in the morning makes the deriver start over from there.
        late = Day(self.T0 + 600 + 7)
        late.fix(*HOME)
        self.send(late.feats)
        time.sleep(1.5)
        doc = self.trips(**{"from": "2024-05-01", "to": "2024-05-01"})[2]
        self.assertEqual([s["kind"] for s in doc["segments"]], ["stay", "trip", "stay", "trip", "stay"])
        self.assertEqual(doc["segments"][0]["place"]["name"], "Home")
        self.assertIsNone(doc["segments"][2]["place"])

        # The local day and the year, in the user's zone.
        self.alice.call("PATCH", "/api/me", {"timezone": "Europe/Berlin"})
        st, _, tl = self.alice.call("GET", "/api/timeline?device=phone&date=2024-05-01")
        self.assertEqual(st, 200, tl)
        self.assertEqual((tl["date"], tl["timezone"]), ("2024-05-01", "Europe/Berlin"))
        self.assertEqual(len(tl["segments"]), 5)
        total = segs[1]["distance"] + segs[3]["distance"]
        self.assertAlmostEqual(tl["distance"], total, delta=1)
        st, _, tl = self.alice.call("GET", "/api/timeline?device=phone&date=2024-05-02")
        self.assertEqual(st, 200, tl)
        self.assertEqual(tl["distance"], 0)
        st, _, stats = self.alice.call("GET", "/api/stats?device=phone&year=2024")
        self.assertEqual(st, 200, stats)
        self.assertAlmostEqual(stats["distance"], total, delta=1)
        self.assertEqual(stats["days"], 1)
        self.assertEqual(len(stats["daily"]), 366)
        if self.geo:
            self.assertEqual([(c["code"], c["name"], c["days"], c["first"], c["last"])
                              for c in stats["countries"]],
                             [("DE", "Germany", 1, "2024-05-01", "2024-05-01")])
            self.assertIn("Berlin", [c["name"] for c in stats["cities"]])
        may = [m for m in stats["months"] if m["month"] == "2024-05"][0]
        self.assertEqual(may["days"], 1)
        self.assertAlmostEqual(may["distance"], total, delta=1)
        st, _, allt = self.alice.call("GET", "/api/stats?device=phone")
        self.assertEqual(st, 200, allt)
        self.assertNotIn("daily", allt)
        self.assertEqual([y["year"] for y in allt["years"]], ["2024"])

        # The CLI says the same, as JSON and as a table in the user's zone.
        cp = self.m.cli("trips", "alice", "phone", "--from", "2024-05-01", "--to", "2024-05-01",
                        "--json")
        api = self.trips(**{"from": "2024-05-01", "to": "2024-05-01"})[2]
        self.assertEqual(json.loads(cp.stdout), api)
        cp = self.m.cli("timeline", "alice", "phone", "--date", "2024-05-01", "--json")
        self.assertEqual(json.loads(cp.stdout),
                         self.alice.call("GET", "/api/timeline?device=phone&date=2024-05-01")[2])
        cp = self.m.cli("stats", "alice", "phone", "--year", "2024", "--json")
        self.assertEqual(json.loads(cp.stdout),
                         self.alice.call("GET", "/api/stats?device=phone&year=2024")[2])
        cp = self.m.cli("timeline", "alice", "phone", "--date", "2024-05-01")
        self.assertIn("Europe/Berlin", cp.stdout)
        self.assertIn("2024-05-01 08:00", cp.stdout)      # 06:00Z in Berlin
        self.assertIn("Home", cp.stdout)
        self.assertIn("drive", cp.stdout)
        for args, why in ((("trips", "alice", "nope"), "nope"),
                          (("trips", "alice"), "usage"),
                          (("timeline", "alice", "phone"), "--date"),
                          (("timeline", "alice", "phone", "--date", "2024-13-01"), "--date"),
                          (("stats", "alice", "phone", "--year", "x"), "--year"),
                          (("trips", "alice", "phone", "--from", "soon"), "--from")):
            with self.subTest(args=args):
                cp = self.m.cli(*args, check=False)
                self.assertNotEqual(cp.returncode, 0)
                self.assertIn(why, cp.stderr)

    def test_import_is_derived_when_done(self):
        """An import's fixes are in the history by the time it reports done."""
        self.m.add_device("alice", "logger")
        day = Day(self.T0 + 86400)
        day.stay(HOME, 20)
        day.drive(HOME, WORK, 12)
        day.stay(WORK, 20)
        path = self.m.root + "/day.geojson"
        with open(path, "w") as f:
            json.dump({"type": "FeatureCollection", "features": [
                {"type": "Feature", "geometry": ft["geometry"],
                 "properties": {"time": ft["properties"]["timestamp"],
                                "accuracy": ft["properties"]["horizontal_accuracy"]}}
                for ft in day.feats]}, f)
        self.m.cli("import", "alice", "logger", path)
        st, _, doc = self.trips(device="logger")
        self.assertEqual(st, 200, doc)
        self.assertEqual([s["kind"] for s in doc["segments"]], ["stay", "trip", "stay"])
        self.assertEqual(doc["segments"][1]["mode"], "drive")

    def test_clean_points(self):
        """&clean=1 leaves out inaccurate fixes and spikes; nothing is deleted."""
        self.m.add_device("alice", "walker")
        token = self.m.new_token("alice", "walker")
        day = Day(self.T0)
        for i in range(20):                      # a walk north, a fix every 10 s
            day.fix(HOME[0] + i * 1e-4, HOME[1], acc=5)
            day.t += 10
        day.feats[5]["properties"]["horizontal_accuracy"] = 800          # inaccurate
        day.feats[12]["geometry"]["coordinates"] = [HOME[1] + 0.05, HOME[0] + 12e-4]  # 3 km off
        st, _, data = self.m.request("POST", "/overland", json.dumps({"locations": day.feats}),
                                     {"Authorization": "Bearer " + token,
                                      "Content-Type": "application/json"})
        self.assertEqual(st, 200, data)
        base = "/api/points?device=walker&from=2024-05-01&to=2024-05-01"
        times = lambda doc: [f["properties"]["time"][:19] + "Z" for f in doc["features"]]
        st, _, raw = self.alice.call("GET", base)
        self.assertEqual((st, len(raw["features"])), (200, 20))
        for q in ("&clean=1", "&clean=1&zoom=18"):
            with self.subTest(q=q):
                st, _, clean = self.alice.call("GET", base + q)
                self.assertEqual(st, 200, clean)
                kept = times(clean)
                self.assertNotIn(day.feats[5]["properties"]["timestamp"], kept)
                self.assertNotIn(day.feats[12]["properties"]["timestamp"], kept)
                self.assertIn(day.feats[11]["properties"]["timestamp"], kept)
                if "zoom" not in q:
                    self.assertEqual(len(kept), 18)
        st, _, doc = self.alice.call("GET", base + "&clean=yes")
        self.assertEqual(st, 400, doc)
        self.assertEqual(len(self.alice.call("GET", base)[2]["features"]), 20)

    def test_errors_and_isolation(self):
        for path, status in (("/api/trips", 400), ("/api/trips?device=bobphone", 404),
                             ("/api/trips?device=nope", 404),
                             ("/api/trips?device=phone&from=yesterday", 400),
                             ("/api/timeline?device=phone", 400),
                             ("/api/timeline?device=phone&date=2024-02-30", 400),
                             ("/api/timeline?device=bobphone&date=2024-05-01", 404),
                             ("/api/stats?device=phone&year=24", 400),
                             ("/api/stats?device=phone&year=2024x", 400),
                             ("/api/stats", 400)):
            with self.subTest(path=path):
                st, _, doc = self.alice.call("GET", path)
                self.assertEqual(st, status, doc)
                self.assertIn("error", doc)
        for method, path, body in (("PATCH", "/api/places/999999", {"name": "x"}),
                                   ("DELETE", "/api/places/999999", None),
                                   ("PATCH", "/api/places/abc", {"name": "x"})):
            st, _, doc = self.alice.call(method, path, body)
            self.assertEqual(st, 404, doc)
        for body in ({"lat": 91, "lon": 0}, {"lat": 1}, {"lat": 1, "lon": 2, "radius": 5},
                     {"lat": 1, "lon": 2, "name": 5}, {"lat": 1, "lon": 2, "name": "a\nb"}, [1]):
            st, _, doc = self.alice.call("POST", "/api/places", body)
            self.assertEqual(st, 400, (body, doc))
        # bob's places are his own: alice's cannot be seen, renamed or deleted.
        st, _, mine = self.alice.call("POST", "/api/places", {"lat": 10, "lon": 10})
        self.assertEqual(st, 201, mine)
        st, _, his = self.bob.call("GET", "/api/places")
        self.assertEqual((st, his), (200, []))
        st, _, _ = self.bob.call("PATCH", "/api/places/%d" % mine["id"], {"name": "mine now"})
        self.assertEqual(st, 404)
        st, _, _ = self.bob.call("DELETE", "/api/places/%d" % mine["id"])
        self.assertEqual(st, 404)
        st, _, doc = self.bob.call("GET", "/api/stats?device=bobphone")
        self.assertEqual((st, doc["distance"], doc["years"]), (200, 0, []))
        # The server still answers.
        self.assertEqual(web(self.m, "GET", "/api/config")[0], 200)
