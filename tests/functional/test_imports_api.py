"""Uploads (docs/webapp-api.md "Imports"): POST /api/imports takes a file as
the body, raw or multipart/form-data, streams it to the parser while it
arrives, and GET /api/imports shows the progress and the summary; a cut-off
or malformed upload fails and leaves nothing; another user sees nothing of
it; the receiver keeps answering meanwhile."""
import gzip
import json
import threading
import time
import urllib.parse

from harness import ServerCase
from test_webapp_auth import BasicClient, Browser, web

ALICE = ("alice", "alice-secret-1")
BOB = ("bob", "bob-secret-22")
T0 = 1714550400          # 2024-05-01T08:00:00Z


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def csv_rows(n, t0=T0, lat=52.5):
    return "time,lat,lon\n" + "".join("%s,%.6f,13.4\n" % (iso(t0 + i), lat + (i % 500) * 1e-6)
                                      for i in range(n))


def gpx(n, t0=T0):
    pts = "".join('<trkpt lat="48.1" lon="%.6f"><time>%s</time></trkpt>\n' % (11.5 + i * 1e-5,
                                                                             iso(t0 + i))
                  for i in range(n))
    return '<gpx version="1.1"><trk><trkseg>\n%s</trkseg></trk></gpx>\n' % pts


def multipart(filename, data, boundary="----WebKitFormBoundaryQ2x9ZtY7"):
    """What a browser's FormData sends: a text field, then the file."""
    head = ("--%s\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n"
            "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n" % (boundary, boundary, filename))
    return (head.encode() + data + ("\r\n--%s--\r\n" % boundary).encode(),
            "multipart/form-data; boundary=%s" % boundary)


class Imports(ServerCase):
    users = (ALICE, BOB)

    @classmethod
    def prepare(cls):
        cls.token = cls.m.add_device("alice", "phone")["token"]
        for name in ("raw", "multi", "slow", "bad", "cut", "basic", "busy", "during", "mine", "badmp"):
            cls.m.add_device("alice", name)
        cls.m.add_device("bob", "watch")

    def setUp(self):
        self.alice = Browser(self.m, *ALICE)
        self.bob = Browser(self.m, *BOB)

    def upload(self, client, device, body, name=None, ctype="application/octet-stream"):
        q = {"device": device}
        if name:
            q["name"] = name
        st, _, doc = client.call("POST", "/api/imports?" + urllib.parse.urlencode(q), body,
                                 {"Content-Type": ctype})
        return st, doc

    def wait(self, client, job_id, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            st, _, doc = client.call("GET", "/api/imports/%d" % job_id)
            self.assertEqual(st, 200, doc)
            if doc["state"] != "running":
                return doc
            if time.monotonic() > deadline:
                raise AssertionError("import still running: %r" % doc)
            time.sleep(0.05)

    def count(self, device, client=None):
        st, _, doc = (client or self.alice).call(
            "DELETE", "/api/points?device=%s&from=1970-01-01&to=2100-01-01&dry_run=1" % device)
        self.assertEqual(st, 200, doc)
        return doc["count"]

    def test_raw_upload(self):
        st, doc = self.upload(self.alice, "raw", gpx(300).encode(), name="walk.gpx")
        self.assertEqual(st, 202, doc)
        job = self.wait(self.alice, doc["id"])
        self.assertEqual(job["state"], "done", job)
        self.assertEqual((job["device"], job["name"]), ("raw", "walk.gpx"))
        self.assertEqual((job["fixes"], job["stored"], job["duplicates"]), (300, 300, 0))
        self.assertEqual(job["bytes"], job["total"])
        self.assertIsNone(job["error"])
        self.assertEqual(self.count("raw"), 300)
        # Listed, newest first; the same file again stores nothing twice.
        st, doc2 = self.upload(self.alice, "raw", gpx(300).encode(), name="walk.gpx")
        job2 = self.wait(self.alice, doc2["id"])
        self.assertEqual((job2["stored"], job2["duplicates"]), (0, 300))
        st, _, jobs = self.alice.call("GET", "/api/imports")
        ids = [j["id"] for j in jobs]
        self.assertLess(ids.index(doc2["id"]), ids.index(doc["id"]))

    def test_multipart_upload_with_a_compressed_file(self):
        body, ctype = multipart("Records.csv.gz", gzip.compress(csv_rows(1000).encode()))
        st, doc = self.upload(self.alice, "multi", body, ctype=ctype)
        self.assertEqual(st, 202, doc)
        job = self.wait(self.alice, doc["id"])
        self.assertEqual(job["state"], "done", job)
        self.assertEqual(job["name"], "Records.csv.gz")
        self.assertEqual((job["fixes"], job["stored"]), (1000, 1000))
        self.assertEqual(self.count("multi"), 1000)

    def test_malformed_multipart_fails_and_stores_nothing(self):
        # Cut before its closing boundary: the file may be whole, the body
        # is not.
        body, ctype = multipart("a.csv", csv_rows(50).encode())
        st, doc = self.upload(self.alice, "badmp", body[:-10], ctype=ctype)
        self.assertEqual(st, 202, doc)
        job = self.wait(self.alice, doc["id"])
        self.assertEqual(job["state"], "failed", job)
        self.assertEqual(job["stored"], 0)
        # A part whose headers never end: refused as it arrives, and the
        # file part before it must not count as whole either.
        head = body[:body.rindex(b"\r\n--")]
        bad = head + b"\r\n--" + ctype.split("=")[1].encode() + b"\r\nX-Pad: " + b"x" * 9000
        st, doc = self.upload(self.alice, "badmp", bad, ctype=ctype)
        self.assertEqual(st, 202, doc)
        job = self.wait(self.alice, doc["id"])
        self.assertEqual(job["state"], "failed", job)
        self.assertEqual(self.count("badmp"), 0)

    def test_progress_while_the_body_arrives(self):
        data = csv_rows(20000).encode()
        half = len(data) // 2
        s = self.m.connect(port=self.m.wport)
        try:
            s.sendall(("POST /api/imports?device=slow&name=slow.csv HTTP/1.1\r\nHost: x\r\n"
                       "Cookie: %s\r\nX-CSRF-Token: %s\r\nContent-Length: %d\r\n\r\n"
                       % (self.alice.cookie, self.alice.csrf, len(data))).encode())
            s.sendall(data[:half])
            # The first half is parsed and stored while the rest is awaited.
            deadline = time.monotonic() + 20
            while True:
                st, _, jobs = self.alice.call("GET", "/api/imports")
                job = [j for j in jobs if j["device"] == "slow"][0]
                if job["fixes"] > 0 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            self.assertEqual(job["state"], "running", job)
            self.assertEqual(job["total"], len(data))
            self.assertEqual(job["received"], half)
            self.assertGreater(job["bytes"], 0)
            self.assertLessEqual(job["bytes"], half)
            self.assertGreater(job["fixes"], 0)
            s.sendall(data[half:])
            reply = s.recv(4096)
            self.assertIn(b" 202 ", reply.split(b"\r\n")[0])
        finally:
            s.close()
        job = self.wait(self.alice, job["id"])
        self.assertEqual((job["state"], job["stored"]), ("done", 20000))

    def test_malformed_file_fails_and_stores_nothing(self):
        text = json.dumps({"locations": [{"latitudeE7": 1, "longitudeE7": 2,
                                          "timestampMs": str(1700000000000 + i)}
                                         for i in range(60000)]})
        st, doc = self.upload(self.alice, "bad", text[:-100].encode(), name="Records.json")
        self.assertEqual(st, 202, doc)
        job = self.wait(self.alice, doc["id"])
        self.assertEqual(job["state"], "failed", job)
        self.assertIn("Records.json", job["error"])
        self.assertEqual(job["stored"], 0)
        self.assertEqual(self.count("bad"), 0)

    def test_cut_off_upload_fails_and_stores_nothing(self):
        data = csv_rows(80000).encode()
        s = self.m.connect(port=self.m.wport)
        s.sendall(("POST /api/imports?device=cut&name=cut.csv HTTP/1.1\r\nHost: x\r\n"
                   "Cookie: %s\r\nX-CSRF-Token: %s\r\nContent-Length: %d\r\n\r\n"
                   % (self.alice.cookie, self.alice.csrf, len(data))).encode())
        s.sendall(data[:len(data) * 3 // 4])
        time.sleep(0.5)
        s.close()
        deadline = time.monotonic() + 30
        while True:
            st, _, jobs = self.alice.call("GET", "/api/imports")
            job = [j for j in jobs if j["device"] == "cut"][0]
            if job["state"] != "running" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(job["state"], "failed", job)
        self.assertIn("cut off", job["error"])
        self.assertEqual(self.count("cut"), 0)

    def test_other_users_see_nothing(self):
        st, doc = self.upload(self.alice, "mine", gpx(5, T0 + 86400).encode(), name="a.gpx")
        self.assertEqual(st, 202, doc)
        self.wait(self.alice, doc["id"])
        st, _, jobs = self.bob.call("GET", "/api/imports")
        self.assertEqual((st, [j for j in jobs if j["device"] != "watch"]), (200, []))
        st, _, _ = self.bob.call("GET", "/api/imports/%d" % doc["id"])
        self.assertEqual(st, 404)
        # Nor can bob write into alice's device.
        st, doc = self.upload(self.bob, "raw", gpx(5).encode(), name="b.gpx")
        self.assertEqual(st, 404, doc)

    def test_credentials(self):
        st, _, _ = web(self.m, "POST", "/api/imports?device=basic", gpx(5).encode(),
                       {"Content-Type": "application/gpx+xml"})
        self.assertEqual(st, 401)
        # A session without its CSRF token writes nothing.
        st, _, _ = self.alice.call("POST", "/api/imports?device=basic", gpx(5).encode(),
                                   csrf=False)
        self.assertEqual(st, 403)
        self.assertEqual(self.count("basic"), 0)
        # A script with Basic credentials: a large body once they are known.
        script = BasicClient(self.m, *ALICE)
        st, _, _ = script.call("GET", "/api/imports")
        self.assertEqual(st, 200)
        big = gpx(3000).encode()
        self.assertGreater(len(big), 64 * 1024)
        st, _, doc = script.call("POST", "/api/imports?device=basic&name=big.gpx", big)
        self.assertEqual(st, 202, doc)
        job = self.wait(self.alice, doc["id"])
        self.assertEqual((job["state"], job["stored"]), ("done", 3000))

    def test_one_running_import_per_user(self):
        data = csv_rows(1000).encode()
        s = self.m.connect(port=self.m.wport)
        try:
            s.sendall(("POST /api/imports?device=busy&name=a.csv HTTP/1.1\r\nHost: x\r\n"
                       "Cookie: %s\r\nX-CSRF-Token: %s\r\nContent-Length: %d\r\n\r\n"
                       % (self.alice.cookie, self.alice.csrf, len(data))).encode())
            s.sendall(data[:100])
            time.sleep(0.2)
            st, hdrs, doc = self.alice.call("POST", "/api/imports?device=busy&name=b.csv",
                                            csv_rows(10, T0 + 5000).encode())
            self.assertEqual(st, 429, doc)
            self.assertIn("retry-after", hdrs)
            # Bob's upload is not held up by alice's.
            st, doc = self.upload(self.bob, "watch", gpx(3).encode(), name="w.gpx")
            self.assertEqual(st, 202, doc)
            self.assertEqual(self.wait(self.bob, doc["id"])["state"], "done")
            s.sendall(data[100:])
            self.assertIn(b" 202 ", s.recv(4096).split(b"\r\n")[0])
        finally:
            s.close()
        # Parsed before the next test uploads for alice (on a slower store
        # the 202 came well before the end of the parse).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            st, _, jobs = self.alice.call("GET", "/api/imports")
            if not any(j["state"] == "running" for j in jobs):
                break
            time.sleep(0.05)

    def test_receiver_answers_during_an_upload(self):
        data = csv_rows(200000, T0 + 10 * 86400).encode()
        result = {}

        def up():
            result["r"] = self.upload(self.alice, "during", data, name="during.csv")

        t = threading.Thread(target=up)
        t.start()
        worst, n, i = 0.0, 0, 0
        while t.is_alive() or n < 5:
            i += 1
            q = urllib.parse.urlencode({"id": self.token, "lat": 1, "lon": 2,
                                        "timestamp": T0 + 20 * 86400 + i})
            t0 = time.monotonic()
            st, _, _ = self.m.request("GET", "/?" + q)
            worst = max(worst, time.monotonic() - t0)
            self.assertEqual(st, 200)
            n += 1
            time.sleep(0.02)
        t.join()
        st, doc = result["r"]
        self.assertEqual(st, 202, doc)
        job = self.wait(self.alice, doc["id"], timeout=120)
        self.assertEqual((job["state"], job["stored"]), ("done", 200000))
        self.assertLess(worst, 1.0, "the receiver took %.2f s during the upload" % worst)


class ShutdownDuringUpload(ServerCase):
    users = (ALICE,)

    @classmethod
    def prepare(cls):
        cls.m.add_device("alice", "late")

    def test_stop_while_an_upload_is_parsed(self):
        """SIGTERM while a body is still arriving and its first part is
        stored: the webapp exits cleanly (the job's thread stopped, the
        connection's sink ended after the registry stopped, no sanitizer
        report) and nothing of the file stays."""
        alice = Browser(self.m, *ALICE)
        data = csv_rows(120000).encode()
        s = self.m.connect(port=self.m.wport)
        try:
            s.sendall(("POST /api/imports?device=late&name=late.csv HTTP/1.1\r\nHost: x\r\n"
                       "Cookie: %s\r\nX-CSRF-Token: %s\r\nContent-Length: %d\r\n\r\n"
                       % (alice.cookie, alice.csrf, len(data))).encode())
            s.sendall(data[:len(data) * 2 // 3])
            deadline = time.monotonic() + 30
            while True:
                st, _, jobs = alice.call("GET", "/api/imports")
                if jobs and jobs[0]["fixes"] > 50000 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            self.assertGreater(jobs[0]["fixes"], 50000, jobs)
            self.assertEqual(self.m.stop(), 0)
        finally:
            s.close()
        self.assertEqual(self.m.sanitizer_report(), [])
        self.assertFalse(self.m.orphans)
        out = self.m.cli("export", "alice", "late", "--format", "csv").stdout
        self.assertEqual(out.strip().count("\n"), 0, out[:300])
        self.m.run()
