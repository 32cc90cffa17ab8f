"""GET /api/points: every format parses (GeoJSON, GPX, CSV, KML) with times
to the millisecond and the same bytes as `mintrac export`; a 200,000-fix
range streams complete to a slow reader while the webapp's memory stays far
below the document's size; zoom/tolerance thinning returns far fewer
features, in order, inside the range, first and last kept; credentials are
required, another user's device is a 404, bad parameters a 400."""
import base64
import calendar
import csv
import io
import json
import math
import os
import socket
import subprocess
import time
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

from harness import BACKEND, BIN, CLI_TIMEOUT, ServerCase, basic

ALICE, ALICE_PW = "alice", "alice-secret-1"
BOB, BOB_PW = "bob", "bob-secret-1"
GPX_NS = {"g": "http://www.topografix.com/GPX/1/1"}
KML_NS = {"k": "http://www.opengis.net/kml/2.2", "gx": "http://www.google.com/kml/ext/2.2"}

# Posted through the receiver's OsmAnd endpoint: times with milliseconds.
POSTED = [
    {"lat": "52.520008", "lon": "13.404954", "timestamp": "1714558530123", "altitude": "34.5",
     "speed": "2.5", "hdop": "4", "note": "a,b \"c\""},
    {"lat": "52.5201", "lon": "13.405", "timestamp": "1714558531007"},
    {"lat": "52.5202", "lon": "13.4051", "timestamp": "1714558532999", "altitude": "0",
     "speed": "0"},
]
POSTED_TIMES = ["2024-05-01T10:15:30.123Z", "2024-05-01T10:15:31.007Z",
                "2024-05-01T10:15:32.999Z"]

BIG_N = 200000
BIG_T0 = 1717200000               # 2024-06-01T00:00:00Z, one fix a second
BIG_MS = 123                      # every fix at .123 s


def iso_ms(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def big_fix(i):
    """A winding track: 3 m/s east with a 110 m sine wobble (period 52 min)."""
    return 52.5 + 0.001 * math.sin(i / 500.0), 13.4 + i * 4.4e-5


def dechunk(data: bytes) -> bytes:
    """Body of a chunked transfer, without quadratic copying."""
    parts, pos = [], 0
    while True:
        nl = data.index(b"\r\n", pos)
        size = int(data[pos:nl].split(b";")[0], 16)
        pos = nl + 2
        if size == 0:
            return b"".join(parts)
        parts.append(data[pos:pos + size])
        pos += size + 2


class PointsApi(ServerCase):
    users = ((ALICE, ALICE_PW), (BOB, BOB_PW))
    # The slow reader's RSS bound measures what the webapp holds, not what
    # ASan keeps of freed memory: on PostgreSQL its quarantine (256 MiB by
    # default) grows by every buffer freed meanwhile, and libpq frees one per
    # FETCH. SQLite's walk frees next to nothing: its run stays as it was.
    run_env = ({"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=1"}
               if BACKEND == "postgresql" else None)

    @classmethod
    def prepare(cls):
        m = cls.m
        cls.phone_token = m.add_device(ALICE, "phone")["token"]
        m.add_device(ALICE, "big")
        m.add_device(BOB, "watch")
        path = os.path.join(m.root, "big.csv")
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write("time,lat,lon,altitude,speed\n")
            rows = []
            for i in range(BIG_N):
                lat, lon = big_fix(i)
                rows.append("%s,%.7f,%.7f,%d,3\n" % (iso_ms((BIG_T0 + i) * 1000 + BIG_MS), lat, lon,
                                                     i % 100))
            f.write("".join(rows))
        out = m.cli("import", ALICE, "big", path).stdout
        assert "%d stored" % BIG_N in out, out

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            for p in POSTED:
                q = urllib.parse.urlencode(dict(p, id=cls.phone_token))
                st, _, body = cls.m.request("GET", "/osmand?" + q)
                assert st == 200, "osmand -> %s %r" % (st, body)
        except BaseException:
            super().tearDownClass()
            raise

    # --- helpers

    def get(self, params, user=ALICE, password=ALICE_PW, method="GET"):
        path = "/api/points?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
        headers = {"Authorization": basic(user, password)} if user else {}
        return self.m.request(method, path, headers=headers, port=self.m.wport, timeout=60)

    def features(self, params):
        st, hdrs, body = self.get(params)
        self.assertEqual(st, 200, body[:300])
        self.assertEqual(hdrs.get("content-type"), "application/geo+json")
        doc = json.loads(body)
        self.assertEqual(doc["type"], "FeatureCollection")
        return doc["features"]

    def assert_error(self, st, hdrs, body, status):
        self.assertEqual(st, status, body[:300])
        self.assertIn("json", hdrs.get("content-type", ""))
        err = json.loads(body)["error"]
        self.assertTrue(err and "\n" not in err, err)
        return err

    def webapp_rss_kib(self, pid):
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS for pid %d" % pid)

    def settled_rss_kib(self, pid, timeout=10):
        """The webapp's RSS once its start-up is over (its threads and
        connections made, the first derivation done): unchanged for 1 s,
        or as it is after timeout. Growth measured from an earlier base
        would count the start-up as the stream's."""
        last, since = self.webapp_rss_kib(pid), time.monotonic()
        deadline = since + timeout
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = self.webapp_rss_kib(pid)
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= 1.0:
                break
        return last

    # --- every format

    def test_geojson(self):
        fs = self.features({"device": "phone"})
        self.assertEqual([f["properties"]["time"] for f in fs], POSTED_TIMES)
        self.assertEqual(fs[0]["geometry"]["coordinates"], [13.404954, 52.520008, 34.5])
        self.assertEqual(fs[0]["properties"]["speed"], 2.5)
        self.assertEqual(fs[0]["properties"]["attributes"]["note"], 'a,b "c"')
        self.assertEqual(fs[1]["geometry"]["coordinates"], [13.405, 52.5201])
        self.assertNotIn("speed", fs[1]["properties"])
        self.assertEqual(fs[2]["properties"]["speed"], 0)

    def test_gpx(self):
        st, hdrs, body = self.get({"device": "phone", "format": "gpx"})
        self.assertEqual(st, 200)
        self.assertEqual(hdrs.get("content-type"), "application/gpx+xml")
        self.assertIn("attachment", hdrs.get("content-disposition", ""))
        self.assertIn('filename="phone.gpx"', hdrs["content-disposition"])
        root = ET.fromstring(body)
        self.assertEqual(root.tag, "{%s}gpx" % GPX_NS["g"])
        self.assertEqual(root.get("version"), "1.1")
        pts = root.findall("g:trk/g:trkseg/g:trkpt", GPX_NS)
        self.assertEqual([p.findtext("g:time", namespaces=GPX_NS) for p in pts], POSTED_TIMES)
        self.assertEqual((float(pts[0].get("lat")), float(pts[0].get("lon"))), (52.520008, 13.404954))
        self.assertEqual(float(pts[0].findtext("g:ele", namespaces=GPX_NS)), 34.5)
        self.assertEqual(root.findtext("g:trk/g:name", namespaces=GPX_NS), "phone")

    def test_csv(self):
        st, hdrs, body = self.get({"device": "phone", "format": "csv"})
        self.assertEqual(st, 200)
        self.assertTrue(hdrs.get("content-type", "").startswith("text/csv"))
        self.assertIn('filename="phone.csv"', hdrs.get("content-disposition", ""))
        rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"), newline="")))
        self.assertEqual([r["time"] for r in rows], POSTED_TIMES)
        self.assertEqual((float(rows[0]["lat"]), float(rows[0]["lon"])), (52.520008, 13.404954))
        self.assertEqual(float(rows[0]["altitude"]), 34.5)
        self.assertEqual(rows[1]["altitude"], "")
        self.assertEqual(json.loads(rows[0]["attributes"])["note"], 'a,b "c"')

    def test_kml(self):
        st, hdrs, body = self.get({"device": "phone", "format": "kml"})
        self.assertEqual(st, 200)
        self.assertEqual(hdrs.get("content-type"), "application/vnd.google-earth.kml+xml")
        self.assertIn('filename="phone.kml"', hdrs.get("content-disposition", ""))
        root = ET.fromstring(body)
        whens = [w.text for w in root.iter("{%s}when" % KML_NS["k"])]
        coords = [c.text.split() for c in root.iter("{%s}coord" % KML_NS["gx"])]
        self.assertEqual(whens, POSTED_TIMES)
        self.assertEqual([float(x) for x in coords[0]], [13.404954, 52.520008, 34.5])
        self.assertEqual(len(coords), 3)

    def test_same_bytes_as_cli_export(self):
        for fmt in ("geojson", "gpx", "csv", "kml"):
            with self.subTest(fmt=fmt):
                st, _, body = self.get({"device": "phone", "format": fmt})
                self.assertEqual(st, 200)
                # Bytes, not text: CSV lines end in CRLF.
                cp = subprocess.run([BIN, "-d", self.m.datadir, "export", ALICE, "phone",
                                     "--format", fmt], capture_output=True, timeout=CLI_TIMEOUT,
                                    env=self.m.environ())
                self.assertEqual(cp.returncode, 0, cp.stderr)
                self.assertEqual(body, cp.stdout)

    def test_range_and_head(self):
        fs = self.features({"device": "phone", "from": "2024-05-01T10:15:31.007Z",
                            "to": "2024-05-01T10:15:32.998Z"})
        self.assertEqual([f["properties"]["time"] for f in fs], POSTED_TIMES[1:2])
        st, hdrs, body = self.get({"device": "phone"}, method="HEAD")
        self.assertEqual((st, body), (200, b""))
        self.assertEqual(hdrs.get("content-type"), "application/geo+json")

    # --- a long range, read slowly

    def test_200k_fixes_stream_to_slow_reader(self):
        with open(os.path.join(self.m.datadir, "webapp.pid")) as f:
            pid = int(f.read())
        auth = base64.b64encode(("%s:%s" % (ALICE, ALICE_PW)).encode()).decode()
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
        s.settimeout(30)
        s.connect(("127.0.0.1", self.m.wport))
        base = self.settled_rss_kib(pid)
        peak = base
        s.sendall(("GET /api/points?device=big HTTP/1.1\r\nHost: t\r\nAuthorization: Basic %s\r\n"
                   "Connection: close\r\n\r\n" % auth).encode())
        parts, got = [], 0
        slow_until = time.monotonic() + 2.5
        deadline = time.monotonic() + 60
        try:
            while time.monotonic() < deadline:
                d = s.recv(16384)
                if not d:
                    break
                parts.append(d)
                got += len(d)
                if time.monotonic() < slow_until:
                    time.sleep(0.005)
                    peak = max(peak, self.webapp_rss_kib(pid))
        finally:
            s.close()
        data = b"".join(parts)
        head, _, rest = data.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head[:200])
        self.assertIn(b"transfer-encoding: chunked", head.lower())
        body = dechunk(rest)
        fs = json.loads(body)["features"]
        self.assertEqual(len(fs), BIG_N)
        self.assertEqual(fs[0]["properties"]["time"], iso_ms(BIG_T0 * 1000 + BIG_MS))
        self.assertEqual(fs[-1]["properties"]["time"], iso_ms((BIG_T0 + BIG_N - 1) * 1000 + BIG_MS))
        self.assertTrue(all(fs[i]["properties"]["time"] < fs[i + 1]["properties"]["time"]
                            for i in range(0, BIG_N - 1, 997)))
        # The slow phase read a few MB of a ~34 MB document; a server that
        # queued it all grows by twice its size (measured: ~70 MB under
        # ASan), one that streams at the reader's pace by a few MB (SQLite's
        # page cache, one piece, allocator slack).
        self.assertGreater(len(body), 20 << 20)
        grown = (peak - base) * 1024
        self.assertLess(grown, len(body) // 4,
                        "webapp RSS grew by %d KiB serving a %d KiB document"
                        % (grown // 1024, len(body) // 1024))

    def test_reader_gone_mid_stream(self):
        """A client that leaves halfway: the stream's state is freed (the
        class fails at teardown on a leak report) and the webapp serves on."""
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", self.m.wport), timeout=10)
            s.sendall(("GET /api/points?device=big&format=csv HTTP/1.1\r\nHost: t\r\n"
                       "Authorization: %s\r\n\r\n" % basic(ALICE, ALICE_PW)).encode())
            got = 0
            while got < 200000:
                d = s.recv(65536)
                self.assertTrue(d, "stream ended early")
                got += len(d)
            s.close()
        self.assertEqual(len(self.features({"device": "phone"})), len(POSTED))

    # --- thinning

    def check_thinned(self, fs, first_ms, last_ms):
        times = [f["properties"]["time"] for f in fs]
        self.assertEqual(times, sorted(set(times)), "not strictly in time order")
        self.assertEqual(times[0], iso_ms(first_ms))
        self.assertEqual(times[-1], iso_ms(last_ms))
        for f in fs:
            self.assertNotIn("attributes", f["properties"])
            self.assertEqual(f["geometry"]["type"], "Point")

    def test_zoom_thins_a_long_range(self):
        first = BIG_T0 * 1000 + BIG_MS
        last = (BIG_T0 + BIG_N - 1) * 1000 + BIG_MS
        fs = self.features({"device": "big", "zoom": "12"})
        self.assertLess(len(fs), BIG_N // 20)
        self.assertGreater(len(fs), 50)          # the wobble is still drawn
        self.check_thinned(fs, first, last)
        # Every kept fix is a stored one (same position as in the full data).
        for f in fs[::7]:
            t = f["properties"]["time"]
            lat, lon = big_fix(calendar.timegm(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) - BIG_T0)
            self.assertAlmostEqual(f["geometry"]["coordinates"][1], lat, places=6)
            self.assertAlmostEqual(f["geometry"]["coordinates"][0], lon, places=6)
        coarse = self.features({"device": "big", "zoom": "5.5"})
        self.assertLessEqual(len(coarse), len(fs))
        self.check_thinned(coarse, first, last)

    def test_zoom_thins_a_day(self):
        lo, hi = BIG_T0 + 86400, BIG_T0 + 2 * 86400 - 1
        fs = self.features({"device": "big", "zoom": "14", "from": str(lo), "to": str(hi)})
        self.assertLess(len(fs), 86400 // 20)
        self.assertGreater(len(fs), 10)
        self.check_thinned(fs, lo * 1000 + BIG_MS, (hi - 1) * 1000 + BIG_MS)
        for f in fs:
            self.assertTrue(iso_ms(lo * 1000) <= f["properties"]["time"] <= iso_ms(hi * 1000))

    def test_tolerance_is_monotone(self):
        lo, hi = BIG_T0 + 3600, BIG_T0 + 5 * 3600
        counts = []
        for tol in ("1", "10", "50", "200", "100000"):
            fs = self.features({"device": "big", "tolerance": tol, "from": str(lo), "to": str(hi)})
            self.check_thinned(fs, lo * 1000 + BIG_MS, (hi - 1) * 1000 + BIG_MS)
            counts.append(len(fs))
        self.assertEqual(counts, sorted(counts, reverse=True))
        self.assertEqual(counts[-1], 2)
        self.assertGreater(counts[0], counts[2])

    def test_thinned_small_and_empty(self):
        fs = self.features({"device": "phone", "zoom": "18", "format": "geojson"})
        self.assertGreaterEqual(len(fs), 2)
        self.assertEqual(fs[0]["properties"]["time"], POSTED_TIMES[0])
        self.assertEqual(fs[-1]["properties"]["time"], POSTED_TIMES[-1])
        self.assertNotIn("attributes", fs[0]["properties"])
        self.assertEqual(fs[0]["properties"]["speed"], 2.5)
        self.assertEqual(self.features({"device": "phone", "zoom": "3", "to": "2020-01-01"}), [])
        self.assertEqual(self.features({"device": "phone", "tolerance": "5", "to": "2020-01-01"}), [])

    # --- who may read, and what is a bad request

    def test_credentials_required(self):
        for params in ({"device": "phone"}, {"device": "phone", "zoom": "5"}):
            st, hdrs, body = self.get(params, user=None)
            self.assert_error(st, hdrs, body, 401)
            self.assertNotIn(b"52.52", body)
            st, hdrs, body = self.get(params, password="wrong-password")
            self.assert_error(st, hdrs, body, 401)

    def test_other_users_device_is_404(self):
        for params in ({"device": "phone"}, {"device": "phone", "zoom": "5"},
                       {"device": "phone", "format": "gpx"}):
            st, hdrs, body = self.get(params, user=BOB, password=BOB_PW)
            self.assert_error(st, hdrs, body, 404)
            self.assertNotIn(b"52.52", body)
        st, hdrs, body = self.get({"device": "watch"}, user=ALICE, password=ALICE_PW)
        self.assert_error(st, hdrs, body, 404)
        st, _, body = self.get({"device": "watch"}, user=BOB, password=BOB_PW)
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(body)["features"], [])

    def test_bad_parameters_400(self):
        cases = [
            ({}, "device"),
            ({"device": "phone", "zoom": "25"}, "zoom"),
            ({"device": "phone", "zoom": "-1"}, "zoom"),
            ({"device": "phone", "zoom": "abc"}, "zoom"),
            ({"device": "phone", "zoom": "nan"}, "zoom"),
            ({"device": "phone", "zoom": "5x"}, "zoom"),
            ({"device": "phone", "tolerance": "0"}, "tolerance"),
            ({"device": "phone", "tolerance": "-3"}, "tolerance"),
            ({"device": "phone", "tolerance": "inf"}, "tolerance"),
            ({"device": "phone", "tolerance": "x"}, "tolerance"),
            ({"device": "phone", "zoom": "5", "tolerance": "10"}, "zoom"),
            ({"device": "phone", "zoom": "5", "format": "gpx"}, "geojson"),
            ({"device": "phone", "tolerance": "5", "format": "csv"}, "geojson"),
            ({"device": "phone", "format": "xls"}, "format"),
            ({"device": "phone", "from": "yesterday"}, "from"),
            ({"device": "phone", "to": "2024-13-45"}, "to"),
        ]
        for params, word in cases:
            with self.subTest(params=params):
                st, hdrs, body = self.get(params)
                err = self.assert_error(st, hdrs, body, 400)
                self.assertIn(word, err)


if __name__ == "__main__":
    unittest.main()
