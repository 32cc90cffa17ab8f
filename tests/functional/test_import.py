"""`mintrac import`: every export format reads back into a new device and
exports again to the identical document; GPX rtept/wpt, KML, Takeout (both
timestamp forms, E7 exact), OwnTracks .rec; duplicates skipped on re-import;
a malformed file fails with one stderr line and stores nothing of its batch."""
import gzip
import io
import json
import os
import re
import unittest
import urllib.parse
import zipfile

from harness import Mintrac

USER = "ivan"
PASSWORD = "ivan-secret-1"
SUMMARY = re.compile(r"^(.*): (\d+) fixes read, (\d+) stored, (\d+) already stored(.*)$")

# Fixes posted through the receiver (OsmAnd template names): every field,
# zero values, none of the optional ones, attributes with quotes and
# non-ASCII text, times with milliseconds.
POSTED = [
    {"lat": "52.520008", "lon": "13.404954", "timestamp": "1714558530123", "hdop": "4.25",
     "altitude": "34.5", "speed": "0", "bearing": "0", "batproc": "87",
     "note": 'say "hi", \u00fcber \u20ac <b>&', "flag": "true", "n": "1.5"},
    {"lat": "1", "lon": "2", "timestamp": "1714558531000"},
    {"lat": "-33.8688", "lon": "151.2093", "timestamp": "1714558532999", "speed": "3.25",
     "altitude": "0", "bearing": "359.9", "hdop": "0"},
    {"lat": "0", "lon": "-0.000001", "timestamp": "1714558533001", "batproc": "0",
     "eta": "x,y\nz"},
]


def summary(out, path):
    lines = [l for l in out.splitlines() if l.startswith(path + ":")]
    assert len(lines) == 1, "no summary line for %s in %r" % (path, out)
    m = SUMMARY.match(lines[0])
    assert m, "summary line %r" % lines[0]
    return int(m.group(2)), int(m.group(3)), int(m.group(4)), m.group(5)


class ImportTest(unittest.TestCase):
    m = None

    @classmethod
    def setUpClass(cls):
        cls.m = Mintrac()
        try:
            cls.m.add_user(USER, PASSWORD)
            cls.token = cls.m.add_device(USER, "src")["token"]
            cls.m.run()
            for p in POSTED:
                q = urllib.parse.urlencode(dict(p, token=cls.token), quote_via=urllib.parse.quote)
                st, _, body = cls.m.request("GET", "/osmand?" + q)
                assert st == 200, "osmand -> %s %r" % (st, body)
        except BaseException:
            cls.m.close()
            raise

    @classmethod
    def tearDownClass(cls):
        problems = cls.m.stop_checked()
        cls.m.close()
        assert not problems, problems

    def path(self, name):
        return os.path.join(self.m.root, name)

    def write(self, name, data):
        p = self.path(name)
        mode = "wb" if isinstance(data, bytes) else "w"
        with open(p, mode, **({} if isinstance(data, bytes) else {"encoding": "utf-8", "newline": ""})) as f:
            f.write(data)
        return p

    def export(self, device, fmt="geojson"):
        return self.m.cli("export", USER, device, "--format", fmt).stdout

    def features(self, device):
        return json.loads(self.export(device))["features"]

    def new_device(self, name):
        self.m.add_device(USER, name)
        return name

    def import_ok(self, device, *paths):
        cp = self.m.cli("import", USER, device, *paths)
        self.assertEqual(cp.stderr.strip(), "", cp.stderr)
        return cp.stdout

    def import_fail(self, device, *paths):
        cp = self.m.cli("import", USER, device, *paths, check=False)
        self.assertNotEqual(cp.returncode, 0, cp.stdout)
        lines = cp.stderr.strip().split("\n")
        self.assertEqual(len(lines), 1, "want one stderr line: %r" % cp.stderr)
        return lines[0]

    # --- round trip of every export format

    def test_roundtrip_every_format(self):
        for fmt, ext in (("gpx", "gpx"), ("geojson", "geojson"), ("csv", "csv"), ("kml", "kml")):
            with self.subTest(fmt=fmt):
                doc = self.export("src", fmt)
                p = self.write("rt." + ext, doc)
                dev = self.new_device("rt-" + fmt)
                n, stored, dup, _ = summary(self.import_ok(dev, p), p)
                self.assertEqual((n, stored, dup), (len(POSTED), len(POSTED), 0))
                again = self.export(dev, fmt)
                # Only the track name (GPX, KML) differs.
                self.assertEqual(again.replace("<name>rt-%s</name>" % fmt, "<name>src</name>"), doc)
                # Re-import: everything is there already.
                n, stored, dup, _ = summary(self.import_ok(dev, p), p)
                self.assertEqual((n, stored, dup), (len(POSTED), 0, len(POSTED)))
                self.assertEqual(self.export(dev, fmt), again)

    def test_roundtrip_keeps_values(self):
        p = self.write("vals.geojson", self.export("src"))
        dev = self.new_device("vals")
        self.import_ok(dev, p)
        f = self.features(dev)
        self.assertEqual(len(f), len(POSTED))
        props = f[0]["properties"]
        self.assertEqual(props["time"], "2024-05-01T10:15:30.123Z")
        self.assertEqual(props["speed"], 0)
        self.assertEqual(props["course"], 0)
        self.assertEqual(props["accuracy"], 4.25)
        self.assertEqual(props["battery"], 87)
        self.assertEqual(props["attributes"]["note"], 'say "hi", \u00fcber \u20ac <b>&')
        self.assertEqual(props["attributes"]["flag"], True)
        self.assertEqual(f[1]["geometry"]["coordinates"], [2, 1])
        self.assertEqual(set(f[1]["properties"]) - {"attributes"}, {"time"})
        self.assertEqual(f[2]["properties"]["time"], "2024-05-01T10:15:32.999Z")
        self.assertEqual(f[3]["geometry"]["coordinates"], [-0.000001, 0])

    def test_csv_with_device_column(self):
        # Export of all devices: a leading device column; every row reads.
        doc = self.m.cli("export", USER, "--format", "csv").stdout
        self.assertTrue(doc.startswith("device,time,lat,lon,"))
        p = self.write("all.csv", doc)
        dev = self.new_device("all-csv")
        n, stored, dup, _ = summary(self.import_ok(dev, p), p)
        self.assertEqual(dup, n - stored)
        self.assertEqual(len(self.features(dev)), stored)

    # --- other sources

    def test_gpx_rtept_wpt(self):
        p = self.write("route.gpx", """<?xml version="1.0"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
 <wpt lat="48.1" lon="11.5"><name>no time</name></wpt>
 <wpt lat="48.2" lon="11.6"><ele>520</ele><time>2023-07-01T08:00:00Z</time></wpt>
 <rte><rtept lat="48.3" lon="11.7"><time>2023-07-01T08:00:01.5Z</time></rtept></rte>
 <trk><trkseg><trkpt lat="48.4" lon="11.8"><time>2023-07-01T10:00:02+02:00</time>
   <extensions><gpxtpx:TrackPointExtension xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v2">
   <gpxtpx:speed>1.5</gpxtpx:speed><gpxtpx:course>45</gpxtpx:course></gpxtpx:TrackPointExtension></extensions>
 </trkpt></trkseg></trk>
</gpx>
""")
        dev = self.new_device("route")
        out = self.import_ok(dev, p)
        n, stored, dup, rest = summary(out, p)
        self.assertEqual((n, stored, dup), (3, 3, 0))
        self.assertIn("skipped 1 points without a time", rest)
        f = self.features(dev)
        self.assertEqual([x["properties"]["time"] for x in f],
                         ["2023-07-01T08:00:00.000Z", "2023-07-01T08:00:01.500Z", "2023-07-01T08:00:02.000Z"])
        self.assertEqual(f[0]["geometry"]["coordinates"], [11.6, 48.2, 520])
        self.assertEqual(f[2]["properties"]["speed"], 1.5)
        self.assertEqual(f[2]["properties"]["course"], 45)

    def test_kml_placemarks(self):
        p = self.write("places.kml", """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2">
<Document>
<Placemark><TimeStamp><when>2023-07-01T08:00:00Z</when></TimeStamp><Point><coordinates>11.5,48.1,500</coordinates></Point></Placemark>
<Placemark><LineString><coordinates>11.5,48.1 11.6,48.2</coordinates></LineString></Placemark>
</Document></kml>
""")
        dev = self.new_device("places")
        n, stored, _, rest = summary(self.import_ok(dev, p), p)
        self.assertEqual((n, stored), (1, 1))
        self.assertIn("skipped 2 points without a time", rest)
        self.assertEqual(self.features(dev)[0]["geometry"]["coordinates"], [11.5, 48.1, 500])

    def test_google_semantic_exports(self):
        # Recognised by structure, whatever the file is called: timed path
        # points and an activity's start and end become fixes; a visit gives
        # two fixes at its spot (its start, here the activity's end too, and
        # its end) and a place with Google's name; untimed waypoints are
        # skipped.
        semantic = {"timelineObjects": [
            {"activitySegment": {
                "startLocation": {"latitudeE7": 481000000, "longitudeE7": 115000000},
                "endLocation": {"latitudeE7": 482000000, "longitudeE7": 116000000},
                "duration": {"startTimestamp": "2024-03-15T09:00:00+02:00",
                             "endTimestampMs": "1710490500000"},
                "waypointPath": {"waypoints": [{"latE7": 481500000, "lngE7": 115500000}]},
                "simplifiedRawPath": {"points": [{"latE7": 481400000, "lngE7": 115400000,
                                                  "timestamp": "2024-03-15T07:05:00Z"}]}}},
            {"placeVisit": {"location": {"latitudeE7": 482000000, "longitudeE7": 116000000,
                                         "name": "Cafe", "placeId": "ChIJ1"},
                            "duration": {"startTimestamp": "2024-03-15T08:15:00Z",
                                         "endTimestamp": "2024-03-15T09:00:00Z"}}},
            {"activitySegment": {
                "startLocation": {"latitudeE7": 482000000, "longitudeE7": 116000000},
                "endLocation": {"latitudeE7": 483000000, "longitudeE7": 117000000},
                "duration": {"startTimestamp": "2024-03-15T09:00:00Z",
                             "endTimestamp": "2024-03-15T09:30:00Z"}}}]}
        ios = [{"startTime": "2024-03-16T10:00-05:00", "endTime": "2024-03-16T11:00-05:00",
                "timelinePath": [{"point": "geo:48.3,11.7", "durationMinutesOffsetFromStartTime": "5"}]}]
        dev = self.new_device("google")
        p1 = self.write("2024_MARCH.json", json.dumps(semantic, indent=2))
        p2 = self.write("export.json", json.dumps(ios))
        out = self.import_ok(dev, p1, p2)
        n, stored, _, rest = summary(out, p1)
        self.assertEqual((n, stored), (7, 5))
        self.assertIn("skipped 1 points without a time", rest)
        self.assertIn("1 visits, 1 places named (Semantic Location History)", rest)
        n, stored, _, _ = summary(out, p2)
        self.assertEqual((n, stored), (1, 1))
        f = self.features(dev)
        self.assertEqual([(x["properties"]["time"], x["geometry"]["coordinates"][:2]) for x in f],
                         [("2024-03-15T07:00:00.000Z", [11.5, 48.1]),
                          ("2024-03-15T07:05:00.000Z", [11.54, 48.14]),
                          ("2024-03-15T08:15:00.000Z", [11.6, 48.2]),
                          ("2024-03-15T09:00:00.000Z", [11.6, 48.2]),
                          ("2024-03-15T09:30:00.000Z", [11.7, 48.3]),
                          ("2024-03-16T15:05:00.000Z", [11.7, 48.3])])

        # The visit is a stay at Google's place.
        trips = json.loads(self.m.cli("trips", USER, dev, "--json").stdout)
        stays = [s for s in trips["segments"] if s["kind"] == "stay"]
        self.assertEqual([(s["start"], s["end"], s["place"]["name"]) for s in stays],
                         [("2024-03-15T08:15:00.000Z", "2024-03-15T09:00:00.000Z", "Cafe")])
        # Again: nothing twice, and no second place.
        n, stored, dup, _ = summary(self.import_ok(dev, p1), p1)
        self.assertEqual((n, stored, dup), (7, 0, 7))

    def test_takeout(self):
        doc = {"locations": [
            {"latitudeE7": 473864810, "longitudeE7": 85227360, "accuracy": 19, "altitude": 409,
             "velocity": 2, "heading": 271, "source": "WIFI",
             "activity": [{"activity": [{"type": "STILL", "confidence": 100}],
                           "timestamp": "2022-01-12T17:18:40Z"}],
             "timestamp": "2022-01-12T17:18:24.190Z"},
            {"timestampMs": "1511112871123", "latitudeE7": -338688001, "longitudeE7": 1512093009,
             "accuracy": 5},
        ]}
        # No extension: found by content.
        p = self.write("Records", json.dumps(doc, indent=2))
        dev = self.new_device("takeout")
        n, stored, dup, _ = summary(self.import_ok(dev, p), p)
        self.assertEqual((n, stored, dup), (2, 2, 0))
        text = self.export(dev)
        # E7 exact to the last digit, written as such.
        self.assertIn("[8.522736,47.386481,409]", text)
        self.assertIn("[151.2093009,-33.8688001]", text)
        f = json.loads(text)["features"]
        self.assertEqual(f[0]["properties"]["time"], "2017-11-19T17:34:31.123Z")
        p1 = f[1]["properties"]
        self.assertEqual(p1["time"], "2022-01-12T17:18:24.190Z")
        self.assertEqual((p1["speed"], p1["course"], p1["accuracy"], p1["altitude"]), (2, 271, 19, 409))
        self.assertEqual(p1["attributes"], {"source": "WIFI"})

    def test_takeout_device_tag(self):
        rows = [{"latitudeE7": 100000000 + i, "longitudeE7": 200000000, "deviceTag": tag,
                 "timestampMs": str(1700000000000 + i * 1000)}
                for i, tag in enumerate([11, -22, 11, -22, 11])]
        p = self.write("Records.json", json.dumps({"locations": rows}))
        dev = self.new_device("tag11")
        out = self.m.cli("import", USER, dev, "--tag", "11", p).stdout
        n, stored, dup, rest = summary(out, p)
        self.assertEqual((n, stored, dup), (3, 3, 0))
        self.assertIn("skipped 2 of other deviceTags", rest)
        self.assertEqual([x["properties"]["attributes"]["deviceTag"] for x in self.features(dev)],
                         [11, 11, 11])
        dev2 = self.new_device("tag22")
        out = self.m.cli("import", USER, dev2, p, "--tag", "-22").stdout
        self.assertEqual(summary(out, p)[:3], (2, 2, 0))
        self.assertIn("--tag: expected a deviceTag number", self.import_fail(dev2, "--tag", "x", p))

    def test_owntracks_rec(self):
        p = self.write("2024-05.rec",
                       '2024-05-01T10:15:30Z\t*                 \t{"_type":"location","tid":"ph",'
                       '"lat":52.5,"lon":13.4,"tst":1714558530,"vel":36,"cog":90,"alt":34,"acc":5,"batt":87}\n'
                       '2024-05-01T10:15:31Z\tlwt               \t{"_type":"lwt","tst":1714558531}\n'
                       '2024-05-01T10:15:40Z\t*                 \t{"_type":"location","lat":52.6,"lon":13.5,'
                       '"tst":1714558540}\n')
        dev = self.new_device("rec")
        n, stored, _, _ = summary(self.import_ok(dev, p), p)
        self.assertEqual((n, stored), (2, 2))
        f = self.features(dev)
        pr = f[0]["properties"]
        self.assertEqual(pr["time"], "2024-05-01T10:15:30.000Z")
        self.assertAlmostEqual(pr["speed"], 10, places=9)
        self.assertEqual((pr["course"], pr["altitude"], pr["accuracy"], pr["battery"]), (90, 34, 5, 87))
        self.assertEqual(pr["attributes"], {"tid": "ph"})

    def test_stdin(self):
        dev = self.new_device("stdin")
        cp = self.m.cli("import", USER, dev, "-", stdin="time,lat,lon\n2024-01-01T00:00:00.5Z,1,2\n")
        n, stored, _, _ = summary(cp.stdout, "-")
        self.assertEqual((n, stored), (1, 1))

    def test_gz_read_directly(self):
        csv_text = "time,lat,lon\n2024-03-01T00:00:00Z,1,2\n2024-03-01T00:00:01+02:00,1.5,2.5\n"
        gpx_text = ('<?xml version="1.0"?><gpx version="1.1"><trk><trkseg>'
                    '<trkpt lat="3" lon="4"><time>2024-03-02T00:00:00Z</time></trkpt>'
                    '</trkseg></trk></gpx>')
        dev = self.new_device("gz")
        csv_gz = self.write("fixes.csv.gz", gzip.compress(csv_text.encode()))
        # A renamed file is recognised by its content once inflated.
        gpx_gz = self.write("renamed.bin", gzip.compress(gpx_text.encode()))
        out = self.m.cli("import", USER, dev, csv_gz, gpx_gz).stdout
        self.assertEqual(summary(out, csv_gz)[:3], (2, 2, 0))
        self.assertEqual(summary(out, gpx_gz)[:3], (1, 1, 0))
        self.assertEqual([x["properties"]["time"] for x in self.features(dev)],
                         ["2024-02-29T22:00:01.000Z", "2024-03-01T00:00:00.000Z",
                          "2024-03-02T00:00:00.000Z"])
        # Re-importing stores nothing twice; two gzip members read as one file.
        two = self.write("two.csv.gz", gzip.compress(csv_text.encode()) +
                         gzip.compress(b"2024-03-01T00:00:02Z,1,2\n"))
        self.assertEqual(summary(self.m.cli("import", USER, dev, two).stdout, two)[:3], (3, 1, 2))

    def test_truncated_gz_stops_and_stores_nothing(self):
        rows = "".join("2024-04-01T00:%02d:%02dZ,1,2\n" % (i // 60, i % 60) for i in range(2000))
        whole = gzip.compress(("time,lat,lon\n" + rows).encode())
        dev = self.new_device("gztrunc")
        p = self.write("cut.csv.gz", whole[:len(whole) // 2])
        line = self.import_fail(dev, p)
        self.assertIn("cut.csv.gz", line)
        self.assertIn("nothing was stored", line)
        self.assertEqual(self.features(dev), [])

    def test_takeout_zip(self):
        """A Takeout .zip: every location file inside is read, in order; the
        rest (a page, settings, folders) is passed over; each member gets its
        own summary line."""
        recs = {"locations": [{"latitudeE7": 480000000 + i, "longitudeE7": 110000000,
                               "timestamp": "2023-03-01T00:00:%02dZ" % i} for i in range(3)]}
        gpx = ('<gpx><trk><trkseg><trkpt lat="1" lon="2"><time>2023-03-02T00:00:00Z</time></trkpt>'
               '</trkseg></trk></gpx>')
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("Takeout/archive_browser.html", "<html><body>not xml<br></body></html>")
            z.writestr("Takeout/Location History (Timeline)/", "")
            z.writestr("Takeout/Location History (Timeline)/Records.json", json.dumps(recs))
            z.writestr("Takeout/Location History (Timeline)/Settings.json", '{"createdTime":"x"}')
            z.writestr("Takeout/old/track.gpx", gpx)
        p = self.write("takeout-20240101.zip", buf.getvalue())
        dev = self.new_device("zip")
        out = self.import_ok(dev, p)
        member = p + ":Takeout/Location History (Timeline)/Records.json"
        self.assertEqual(summary(out, member)[:3], (3, 3, 0))
        self.assertEqual(summary(out, p + ":Takeout/old/track.gpx")[:3], (1, 1, 0))
        self.assertEqual(summary(out, p + ":Takeout/Location History (Timeline)/Settings.json")[:3],
                         (0, 0, 0))
        self.assertNotIn("archive_browser", out)
        self.assertEqual(len(self.features(dev)), 4)
        # Again: nothing twice.
        out = self.import_ok(dev, p)
        self.assertEqual(summary(out, member)[:3], (3, 0, 3))
        self.assertEqual(len(self.features(dev)), 4)

    def test_folder(self):
        """A folder: every file in it and below whose name says location data
        (or an archive of it), in name order; the rest is passed over."""
        top = self.path("trips")
        os.makedirs(os.path.join(top, "2023", "deep"))
        gpx = ('<gpx><trk><trkseg><trkpt lat="1" lon="2"><time>%s</time></trkpt>'
               '</trkseg></trk></gpx>')
        self.write("trips/b.gpx", gpx % "2023-05-02T00:00:00Z")
        self.write("trips/a.gpx", gpx % "2023-05-01T00:00:00Z")
        self.write("trips/2023/c.csv.gz", gzip.compress(b"time,lat,lon\n2023-05-03T00:00:00Z,1,2\n"))
        self.write("trips/2023/deep/d.GPX", gpx % "2023-05-04T00:00:00Z")
        self.write("trips/notes.txt", "not location data\n")
        self.write("trips/photo.jpg", b"\xff\xd8\xff")
        self.write("trips/.hidden.gpx", "<gpx><broken")
        dev = self.new_device("folder")
        out = self.import_ok(dev, top)
        names = [l.split(":")[0] for l in out.splitlines() if " fixes read" in l]
        self.assertEqual([os.path.relpath(n, top) for n in names],
                         ["2023/c.csv.gz", "2023/deep/d.GPX", "a.gpx", "b.gpx"])
        self.assertEqual(len(self.features(dev)), 4)

    def test_cut_off_file_is_taken_back_whole(self):
        """A file larger than one transaction (50,000 fixes) that turns out
        cut off leaves nothing: the batches it had committed are taken back."""
        rows = "".join("2024-06-%02dT%02d:%02d:%02dZ,1,2\n" % (1 + i // 86400, i // 3600 % 24,
                                                              i // 60 % 60, i % 60)
                       for i in range(120000))
        whole = gzip.compress(("time,lat,lon\n" + rows).encode())
        dev = self.new_device("bigcut")
        keep = self.write("keep.csv", "time,lat,lon\n2024-05-01T00:00:00Z,1,2\n")
        p = self.write("big.csv.gz", whole[:len(whole) * 9 // 10])
        line = self.import_fail(dev, keep, p)
        self.assertIn("big.csv.gz", line)
        self.assertIn("nothing of this file was stored; the 1 new fixes of the files before it stay",
                      line)
        self.assertEqual([x["properties"]["time"] for x in self.features(dev)],
                         ["2024-05-01T00:00:00.000Z"])
        self.assertEqual(self.m.cli("device", "list", USER).stdout.count("bigcut"), 1)

    def test_store_failure_stops_the_parser_and_takes_the_file_back(self):
        """The storing thread fails (the test build's fault VFS: every write
        fails) while the parser thread is still reading: the import stops
        with one line, nothing of the file stays, and the same file imports
        whole once the disk takes writes again."""
        ctl = self.path("faults")
        with open(ctl, "w") as f:
            f.write("full\n")
        env = {"MINTRAC_TEST_FAULTS": ctl}
        probe = self.m.cli("device", "add", USER, "probe", check=False, env=env)
        if probe.returncode == 0:
            self.skipTest("MINTRAC_BIN has no fault VFS (build/asan builds it with -DMINTRAC_FAULTVFS)")
        rows = "".join("2024-07-%02dT%02d:%02d:%02dZ,1,2\n" % (1 + i // 86400, i // 3600 % 24,
                                                              i // 60 % 60, i % 60)
                       for i in range(120000))
        p = self.write("full.csv", "time,lat,lon\n" + rows)
        dev = self.new_device("diskfull")
        cp = self.m.cli("import", USER, dev, p, check=False, env=env)
        self.assertNotEqual(cp.returncode, 0, cp.stdout)
        lines = cp.stderr.strip().split("\n")
        self.assertEqual(len(lines), 1, cp.stderr)
        self.assertIn("full.csv: cannot store", lines[0])
        self.assertIn("nothing was stored", lines[0])
        self.assertEqual(self.features(dev), [])
        n, stored, dup, _ = summary(self.import_ok(dev, p), p)
        self.assertEqual((n, stored, dup), (120000, 120000, 0))

    def test_takeout_several_tags_several_devices(self):
        """Rows of several deviceTags go to one device each, "DEVICE (tag N)",
        the first tag's too; DEVICE keeps none; a second import adds nothing."""
        rows = [{"latitudeE7": 100000000 + i, "longitudeE7": 200000000, "deviceTag": tag,
                 "timestampMs": str(1700000000000 + i * 1000)}
                for i, tag in enumerate([5, 5, 5, -7, 5, -7])]
        p = self.write("Records-tags.json", json.dumps({"locations": rows}))
        dev = self.new_device("tags")
        n, stored, dup, _ = summary(self.import_ok(dev, p), p)
        self.assertEqual((n, stored, dup), (6, 6, 0))
        self.assertEqual(self.features(dev), [])
        self.assertEqual(len(self.features("tags (tag 5)")), 4)
        self.assertEqual(len(self.features("tags (tag -7)")), 2)
        n, stored, dup, _ = summary(self.import_ok(dev, p), p)
        self.assertEqual((n, stored, dup), (6, 0, 6))
        self.assertEqual(self.features(dev), [])
        self.assertEqual(len(self.features("tags (tag 5)")), 4)
        # One tag: DEVICE itself.
        one = self.write("Records-one.json", json.dumps({"locations": rows[:3]}))
        dev1 = self.new_device("onetag")
        self.assertEqual(summary(self.import_ok(dev1, one), one)[:3], (3, 3, 0))
        self.assertEqual(len(self.features(dev1)), 3)

    # --- errors

    def test_malformed_file_stores_nothing_of_its_batch(self):
        good = self.write("good.csv", "time,lat,lon\n2024-02-01T00:00:00Z,1,2\n2024-02-01T00:00:01Z,1,2\n")
        bad = self.write("bad.gpx", '<gpx>\n<trkpt lat="1" lon="2"><time>2024-02-02T00:00:00Z</time></trkpt>\n'
                                    '<trkpt lat="1" lon="2"><time>2024-02-02T00:00:01Z</time></trkpt>\n'
                                    '<trkpt lat="1" lon="2"><time>2024-02-02T00:00:02Z</time>\n</gpx>\n')
        dev = self.new_device("bad")
        line = self.import_fail(dev, good, bad)
        self.assertRegex(line, r"bad\.gpx:5: XML error")
        self.assertIn("nothing of this file was stored; the 2 new fixes of the files before it stay", line)
        # The earlier file stays; nothing of the failing one.
        self.assertEqual([x["properties"]["time"] for x in self.features(dev)],
                         ["2024-02-01T00:00:00.000Z", "2024-02-01T00:00:01.000Z"])

    def test_bad_value_is_rejected_and_names_the_line(self):
        # A record with a bad value is left out and reported with its line;
        # the rest of the file is stored.
        dev = self.new_device("badval")
        p = self.write("badval.csv", "time,lat,lon\n2024-02-01T00:00:00Z,1,2\n2024-02-01T00:00:01Z,95,2\n")
        out = self.import_ok(dev, p)
        self.assertIn("1 fixes read, 1 stored", out)
        self.assertIn("rejected 1 for their values", out)
        self.assertIn("badval.csv:3: lat out of range", out)
        p = self.write("badtime.geojson", '{"type":"FeatureCollection","features":[\n'
                       '{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},\n'
                       '"properties":{"time":"tomorrow"}}]}')
        out = self.import_ok(dev, p)
        self.assertIn("badtime.geojson:3: unreadable time 'tomorrow'", out)
        self.assertEqual([x["properties"]["time"] for x in self.features(dev)],
                         ["2024-02-01T00:00:00.000Z"])

    def test_unknown_format_and_missing_file(self):
        dev = self.new_device("unknown")
        p = self.write("notes.txt", "hello\n")
        self.assertIn("cannot tell the format", self.import_fail(dev, p))
        self.assertIn("No such file", self.import_fail(dev, self.path("missing.gpx")))
        self.assertIn("no device", self.import_fail("nope", p))
        self.assertIn("usage", self.import_fail(dev))


if __name__ == "__main__":
    unittest.main()
