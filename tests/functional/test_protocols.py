"""Every app's requests from tests/fixtures/clients replayed against the real
receiver, with the credential replaced by a mintrac device's, then checked:
the reply each app needs (clients/README.md "Required response semantics")
and every stored field with its unit, read back from GET /api/points."""
import json
import re
import unittest

from harness import Mintrac, ServerCase, basic, client_requests

USER = "alice"
PASSWORD = "alice-secret-1"

T_1030 = "2024-05-01T10:15:30.000Z"      # 1714558530
POS_LAT = 52.520008
POS_LON = 13.404954
KNOT = 1852.0 / 3600.0                   # m/s
TRACCAR_CREDS = ("id", "deviceid", "device_id")


def find(reqs, title_prefix):
    for r in reqs:
        if r["title"].startswith(title_prefix):
            return r
    raise AssertionError("no request titled %r in corpus" % title_prefix)


def query_rewrite(target, path, drop=(), first=()):
    """target's query with the names in drop removed and first=[(k,v)]
    prepended, on a new path. Values are kept byte for byte (no re-encoding)."""
    _, _, q = target.partition("?")
    items = [p for p in q.split("&") if p and p.split("=", 1)[0] not in drop]
    items = ["%s=%s" % kv for kv in first] + items
    return path + ("?" + "&".join(items) if items else "")


def headers_of(req, drop=(), extra=None):
    h = {}
    for k, v in req["headers"]:
        if k.lower() in drop:
            continue
        h[k] = v
    if extra:
        h.update(extra)
    return h


class ProtocolBase(ServerCase):
    users = ((USER, PASSWORD),)

    # --- helpers

    def send(self, method, path, body=None, headers=None):
        st, hdrs, data = self.m.request(method, path, body=body, headers=headers)
        return st, hdrs, data

    def assert2xx(self, res, what=""):
        st, hdrs, data = res
        self.assertTrue(200 <= st < 300, "%s: expected 2xx, got %d %r" % (what, st, data[:300]))

    def assert_json_reply(self, res, expected, what=""):
        st, hdrs, data = res
        self.assertEqual(st, 200, "%s: status %d body %r" % (what, st, data[:300]))
        ct = hdrs.get("content-type", "")
        self.assertTrue(ct.startswith("application/json"), "%s: Content-Type %r" % (what, ct))
        try:
            doc = json.loads(data.decode("utf-8"))
        except ValueError:
            self.fail("%s: body is not JSON: %r" % (what, data[:300]))
        self.assertEqual(doc, expected, what)
        return doc

    def pts(self, name):
        return self.m.points(name, USER, PASSWORD)

    def one(self, name):
        f = self.pts(name)
        self.assertEqual(len(f), 1, "expected exactly one stored fix, got %s" % json.dumps(f)[:800])
        return f[0]

    def check_fix(self, f, lat, lon, time, token=None, alt=None, creds=(), **props):
        """props: name=value (float compared to 1e-6, or (value, delta)),
        or name=None meaning absent. creds: credential parameter names of
        this endpoint besides token/api_key, never to be stored."""
        self.assertEqual(f.get("type"), "Feature")
        g = f["geometry"]
        self.assertEqual(g["type"], "Point")
        c = g["coordinates"]
        self.assertIn(len(c), (2, 3), c)
        self.assertAlmostEqual(c[0], lon, delta=1e-7, msg="longitude")
        self.assertAlmostEqual(c[1], lat, delta=1e-7, msg="latitude")
        p = f["properties"]
        self.assertEqual(p.get("time"), time, "properties.time")
        if alt is None:
            self.assertNotIn("altitude", p, "altitude should be absent")
            self.assertEqual(len(c), 2, "no altitude expected in coordinates")
        else:
            self.assertIn("altitude", p, "altitude missing")
            self.assertAlmostEqual(p["altitude"], alt, delta=1e-6, msg="altitude")
            if len(c) == 3:
                self.assertAlmostEqual(c[2], alt, delta=1e-6, msg="coordinates[2] altitude")
        for k, v in props.items():
            if v is None:
                self.assertNotIn(k, p, "%s should be absent (unknown), props=%s" % (k, p))
                continue
            self.assertIn(k, p, "%s missing, props=%s" % (k, p))
            exp, delta = v if isinstance(v, tuple) else (v, 1e-6)
            self.assertIsInstance(p[k], (int, float), "%s not a number: %r" % (k, p[k]))
            self.assertNotIsInstance(p[k], bool)
            self.assertAlmostEqual(p[k], exp, delta=delta, msg="%s (props=%s)" % (k, p))
        attrs = p.get("attributes", {})
        self.assertIsInstance(attrs, dict, "attributes must be an object")
        for cred in ("token", "api_key") + tuple(creds):
            self.assertNotIn(cred, attrs, "credential %r stored as attribute" % cred)
        if token:
            self.assertNotIn(token, json.dumps(f), "device token leaked into stored fix")
        return p, attrs

    def attr(self, attrs, name, value):
        self.assertIn(name, attrs, "attribute %r missing: %s" % (name, attrs))
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            got = attrs[name]
            self.assertTrue(isinstance(got, (int, float)) and not isinstance(got, bool),
                            "attribute %r should be a number, got %r" % (name, got))
            self.assertAlmostEqual(got, value, delta=1e-9, msg=name)
        else:
            self.assertEqual(attrs[name], value, "attribute %r" % name)
            self.assertIs(type(attrs[name]), type(value), "attribute %r type" % name)


class OsmAnd(ProtocolBase):
    reqs = client_requests("osmand.http")

    def test_example1_osmand_template(self):
        name, tok = self.device()
        r = find(self.reqs, "Example 1")
        path = query_rewrite(r["target"], "/osmand", drop=("id",), first=[("token", tok)])
        self.assert2xx(self.send("GET", path, headers=headers_of(r)), path)
        p, a = self.check_fix(self.one(name), POS_LAT, POS_LON, "2024-05-01T10:15:30.123Z", token=tok, creds=("id",),
                              alt=43.7, speed=13.9, course=271.5, accuracy=4.8, battery=87)
        for k in ("eta", "etfa", "eda", "edfa"):
            self.assertIn(k, a, "OsmAnd %s should be an attribute" % k)
            self.assertEqual(a[k], 0)
        self.assertNotIn("hdop", a, "/osmand hdop is the accuracy, not an attribute")

    def test_example3_navigation_zero_values(self):
        name, tok = self.device()
        r = find(self.reqs, "Example 3")
        path = query_rewrite(r["target"], "/osmand", drop=("id",), first=[("token", tok)])
        self.assert2xx(self.send("GET", path, headers=headers_of(r)), path)
        # eta/etfa are epoch ms too, but never the fix time
        p, a = self.check_fix(self.one(name), POS_LAT, POS_LON, "2024-05-01T10:15:30.123Z", token=tok, creds=("id",),
                              alt=44.0, speed=0, course=0, accuracy=3.9, battery=86)
        self.attr(a, "eta", 1714560330123)
        self.attr(a, "etfa", 1714559430123)
        self.attr(a, "eda", 18250)
        self.attr(a, "edfa", 7400)

    def test_example1_id_instead_of_token(self):
        # DESIGN: /osmand takes `token` (or `id`)
        name, tok = self.device()
        r = find(self.reqs, "Example 1")
        path = query_rewrite(r["target"], "/osmand", drop=("id",), first=[("id", tok)])
        self.assert2xx(self.send("GET", path, headers=headers_of(r)), path)
        self.check_fix(self.one(name), POS_LAT, POS_LON, "2024-05-01T10:15:30.123Z", token=tok, creds=("id",),
                       alt=43.7, speed=13.9)

    def test_example2_traccar_port(self):
        # the same template against Traccar's protocol: speed is knots there
        name, tok = self.device()
        r = find(self.reqs, "Example 2")
        path = query_rewrite(r["target"], "/", drop=("id",), first=[("id", tok)])
        st, hdrs, data = self.send("GET", path, headers=headers_of(r))
        self.assertEqual(st, 200, data)
        self.assertEqual(data, b"", "/ answers an empty 200")
        p, a = self.check_fix(self.one(name), POS_LAT, POS_LON, "2024-05-01T10:15:30.123Z", token=tok, creds=TRACCAR_CREDS,
                              alt=43.7, speed=13.9 * KNOT, course=271.5, accuracy=None)
        self.attr(a, "hdop", 4.8)

    def test_duplicate_stored_once(self):
        name, tok = self.device()
        r = find(self.reqs, "Example 1")
        path = query_rewrite(r["target"], "/osmand", drop=("id",), first=[("token", tok)])
        self.assert2xx(self.send("GET", path), "first")
        self.assert2xx(self.send("GET", path), "duplicate")
        self.assertEqual(len(self.pts(name)), 1, "duplicate fix stored twice")
        self.assertEqual(self.m.device_count(name, USER, PASSWORD), 1)

    def test_java_float_scientific(self):
        name, tok = self.device()
        self.assert2xx(self.send("GET", "/osmand?token=%s&lat=52.520008&lon=13.404954&timestamp=1714558530123"
                                        "&hdop=1.0E-4&speed=0.0&bearing=0.0&altitude=0.0" % tok))
        self.check_fix(self.one(name), POS_LAT, POS_LON, "2024-05-01T10:15:30.123Z", creds=("id",),
                       alt=0.0, accuracy=(1e-4, 1e-9), speed=0, course=0)


class TraccarClient(ProtocolBase):
    reqs = client_requests("traccar-client.http")

    def _send_query(self, title, idval, expect_name, token=None):
        r = find(self.reqs, title)
        path = query_rewrite(r["target"], "/", drop=("id",), first=[("id", idval)])
        st, hdrs, data = self.send(r["method"], path, body=r["body"], headers=headers_of(r))
        self.assertEqual(st, 200, "%s %s -> %d %r" % (r["method"], path, st, data))
        return self.one(expect_name)

    def test_A_legacy_android(self):
        name, tok = self.device()
        f = self._send_query("(A)", tok, name)
        p, a = self.check_fix(f, POS_LAT, POS_LON, T_1030, token=tok, creds=TRACCAR_CREDS, alt=43.7,
                              speed=(13.9, 1e-3), course=271.5, accuracy=0, battery=87)
        self.attr(a, "charge", True)

    def test_B_legacy_ios(self):
        name, tok = self.device()
        f = self._send_query("(B)", tok, name)
        p, a = self.check_fix(f, POS_LAT, POS_LON, T_1030, token=tok, creds=TRACCAR_CREDS, alt=43.7,
                              speed=(13.9, 1e-3), course=271.5, accuracy=4.8, battery=87)
        self.attr(a, "charge", True)

    def test_A_B_with_ident(self):
        # phones already set up for Traccar keep their id: --ident
        name, tok = self.device(ident="123456789012345")
        f = self._send_query("(A)", "123456789012345", name)
        p, a = self.check_fix(f, POS_LAT, POS_LON, T_1030, token=tok, creds=TRACCAR_CREDS, alt=43.7, speed=(13.9, 1e-3))
        self.assertNotIn("123456789012345", json.dumps(f), "ident stored in the fix")
        # (B) carries the same fix time: a duplicate, answered 200, not stored again
        f2 = self._send_query("(B)", "123456789012345", name)
        self.assertEqual(f2["properties"]["time"], T_1030)

    def test_C_json(self):
        name, tok = self.device()
        r = find(self.reqs, "(C)")
        doc = json.loads(r["body"])
        doc["device_id"] = tok
        st, hdrs, data = self.send("POST", "/", body=json.dumps(doc), headers=headers_of(r))
        self.assertEqual(st, 200, data)
        p, a = self.check_fix(self.one(name), 37.4219983, -122.084, "2025-06-15T13:45:12.862Z", token=tok, creds=TRACCAR_CREDS,
                              alt=5, speed=0, course=None, accuracy=5, battery=100)
        self.attr(a, "event", "motionchange")
        self.attr(a, "is_moving", False)
        self.attr(a, "odometer", 0)
        act = a.get("activity", a.get("activity.type"))
        self.assertEqual(act, "still", "activity.type attribute: %s" % a)

    def test_C_D_with_ident(self):
        # (C) and (D) both carry the Flutter app's id 48241179
        name, tok = self.device(ident="48241179")
        r = find(self.reqs, "(C)")
        st, hdrs, data = self.send("POST", "/", body=r["body"], headers=headers_of(r))
        self.assertEqual(st, 200, data)
        self.check_fix(self.one(name), 37.4219983, -122.084, "2025-06-15T13:45:12.862Z", alt=5, creds=TRACCAR_CREDS)
        r = find(self.reqs, "(D)")
        st, hdrs, data = self.send("POST", "/", body=r["body"], headers=headers_of(r))
        self.assertEqual(st, 200, data)
        f = self.pts(name)
        self.assertEqual(len(f), 2)
        self.check_fix(f[0], POS_LAT, POS_LON, T_1030, alt=43.7, battery=87, creds=TRACCAR_CREDS)
        self.assertNotIn("48241179", json.dumps(f[0]), "ident stored in the fix")

    def test_C_json_ios_variant_sentinels(self):
        # the commented iOS variant of (C): speed/heading/battery -1 = unknown, extras, mock
        name, tok = self.device()
        body = {"location": {"extras": {"trip": "work", "n": 3}, "mock": True,
                             "coords": {"speed_accuracy": -1, "speed": -1, "longitude": -122.406417,
                                        "ellipsoidal_altitude": 0, "floor": None, "heading_accuracy": -1,
                                        "latitude": 37.785834000000001, "accuracy": 5,
                                        "altitude_accuracy": -1, "altitude": 0, "heading": -1},
                             "is_moving": False, "age": 188, "odometer": 0,
                             "uuid": "2FB04C65-99CF-42AB-8DD3-EBCB4B108BF8", "event": "motionchange",
                             "battery": {"level": -1, "is_charging": False},
                             "activity": {"type": "unknown", "confidence": 100},
                             "timestamp": "2025-05-09T04:11:30.579Z"},
                "device_id": tok}
        st, hdrs, data = self.send("POST", "/", body=json.dumps(body), headers={"Content-Type": "application/json"})
        self.assertEqual(st, 200, data)
        p, a = self.check_fix(self.one(name), 37.785834, -122.406417, "2025-05-09T04:11:30.579Z", token=tok, creds=TRACCAR_CREDS,
                              alt=0, speed=None, course=None, battery=None, accuracy=5)
        self.attr(a, "mock", True)
        self.attr(a, "trip", "work")     # extras members are attributes of the same name
        self.attr(a, "n", 3)
        self.assertNotIn("extras", a, "extras must not be nested")

    def test_D_flutter_form(self):
        name, tok = self.device()
        r = find(self.reqs, "(D)")
        body = re.sub(rb"^id=[^&]*", b"id=" + tok.encode(), r["body"])
        st, hdrs, data = self.send("POST", "/", body=body, headers=headers_of(r))
        self.assertEqual(st, 200, data)
        p, a = self.check_fix(self.one(name), POS_LAT, POS_LON, T_1030, token=tok, creds=TRACCAR_CREDS, alt=43.7,
                              speed=(27.02 * KNOT, 1e-6), course=271.5, accuracy=4.8, battery=87)
        self.assertAlmostEqual(p["speed"], 13.9, delta=1e-2)
        self.attr(a, "charge", False)
        self.attr(a, "battery_health", "good")
        self.attr(a, "battery_voltage", 4012)
        self.attr(a, "battery_temp", 28.5)

    def test_heartbeat_not_stored(self):
        name, tok = self.device()
        st, _, data = self.send("POST", "/", body="id=%s&timestamp=1714558600" % tok,
                                headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"})
        self.assertEqual(st, 200, data)
        st, _, data = self.send("POST", "/?id=%s&timestamp=1714558601&batt=80" % tok, body=b"")
        self.assertEqual(st, 200, data)
        self.assertEqual(self.pts(name), [], "heartbeat stored as a fix")

    def test_deviceid_and_location_and_space_time(self):
        # `deviceid`, `location=lat,lon`, and `yyyy-MM-dd HH:mm:ss` (`+` in the query) read as UTC
        name, tok = self.device()
        st, _, data = self.send("GET", "/?deviceid=%s&location=52.520008,13.404954&timestamp=2024-05-01+10:15:30"
                                % tok)
        self.assertEqual(st, 200, data)
        self.check_fix(self.one(name), POS_LAT, POS_LON, T_1030, token=tok, creds=TRACCAR_CREDS)

    def test_duplicate_stored_once(self):
        name, tok = self.device()
        r = find(self.reqs, "(D)")
        body = re.sub(rb"^id=[^&]*", b"id=" + tok.encode(), r["body"])
        for i in range(2):
            st, _, data = self.send("POST", "/", body=body, headers=headers_of(r))
            self.assertEqual(st, 200, "send %d: %r" % (i, data))
        self.assertEqual(len(self.pts(name)), 1)


class GPSLogger(ProtocolBase):
    reqs = client_requests("gpslogger.http")

    def test_example1_query(self):
        name, tok = self.device()
        r = find(self.reqs, "Example 1")
        path = query_rewrite(r["target"], "/gpslogger", drop=("id",), first=[("token", tok)])
        st, _, data = self.send("GET", path, headers=headers_of(r))
        self.assertEqual(st, 200, data)
        p, a = self.check_fix(self.one(name), POS_LAT, POS_LON, T_1030, token=tok, alt=43.7, speed=13.9,
                              course=271.5, accuracy=4.8, battery=87)
        self.attr(a, "charge", False)
        self.attr(a, "sat", 11)
        self.attr(a, "prov", "gps")

    def test_example2_json_bearer(self):
        name, tok = self.device()
        r = find(self.reqs, "Example 2")
        path = query_rewrite(r["target"], "/gpslogger", drop=("id",))
        st, _, data = self.send("POST", path, body=r["body"],
                                headers=headers_of(r, extra={"Authorization": "Bearer " + tok}))
        self.assertEqual(st, 200, data)
        p, a = self.check_fix(self.one(name), POS_LAT, POS_LON, T_1030, token=tok, alt=43.7, speed=13.9,
                              course=271.5, accuracy=4.8, battery=87)
        self.assertIsInstance(p["battery"], (int, float))
        self.attr(a, "dist", 1523)

    def test_example2_json_basic(self):
        # Basic: password = device token, user name = mintrac user
        name, tok = self.device()
        r = find(self.reqs, "Example 2")
        st, _, data = self.send("POST", "/gpslogger", body=r["body"],
                                headers={"Authorization": basic(USER, tok)})   # no Content-Type: JSON by '{'
        self.assertEqual(st, 200, data)
        self.check_fix(self.one(name), POS_LAT, POS_LON, T_1030, token=tok, alt=43.7, speed=13.9)

    def test_iso_time_with_offset_json(self):
        name, tok = self.device()
        body = '{"time": "2024-05-01T12:15:30.250%2B02:00", "lat": 52.520008, "lon": 13.404954}'
        st, _, data = self.send("POST", "/gpslogger?token=" + tok, body=body,
                                headers={"Content-Type": "application/json"})
        self.assertEqual(st, 200, data)
        self.check_fix(self.one(name), POS_LAT, POS_LON, "2024-05-01T10:15:30.250Z", token=tok)

    def test_iso_time_with_offset_query(self):
        name, tok = self.device()
        st, _, data = self.send("GET", "/gpslogger?token=%s&lat=52.520008&lon=13.404954"
                                       "&time=2024-05-01T12:15:30.000%%2B02:00&spd_kph=50" % tok)
        self.assertEqual(st, 200, data)
        self.check_fix(self.one(name), POS_LAT, POS_LON, T_1030, token=tok, speed=(50 / 3.6, 1e-6))

    def test_example3_defaults(self):
        name, tok = self.device()
        r = find(self.reqs, "Example 3")
        path = query_rewrite(r["target"], "/gpslogger", first=[("token", tok)])
        st, _, data = self.send("GET", path, headers=headers_of(r))
        self.assertEqual(st, 200, data)
        p, a = self.check_fix(self.one(name), POS_LAT, POS_LON, T_1030, token=tok, speed=None)
        self.attr(a, "s", 13.9)

    def test_form_post_no_content_type(self):
        name, tok = self.device()
        st, _, data = self.send("POST", "/gpslogger?token=" + tok,
                                body="lat=52.520008&lon=13.404954&timestamp=1714558530&batt=87.0&acc=4.8")
        self.assertEqual(st, 200, data)
        self.check_fix(self.one(name), POS_LAT, POS_LON, T_1030, token=tok, battery=87, accuracy=4.8)


class OwnTracks(ProtocolBase):
    reqs = client_requests("owntracks.http")

    def _post(self, r, path, tok, user=USER):
        return self.send("POST", path, body=r["body"],
                         headers=headers_of(r, drop=("authorization",),
                                            extra={"Authorization": basic(user, tok)}))

    def test_example1_location(self):
        name, tok = self.device()
        r = find(self.reqs, "Example 1")
        self.assert_json_reply(self._post(r, "/owntracks", tok), [], "/owntracks")
        p, a = self.check_fix(self.one(name), POS_LAT, POS_LON, T_1030, token=tok, alt=44,
                              speed=(50 / 3.6, 1e-9), course=272, accuracy=5, battery=87)

    def test_example1_dawarich_path(self):
        name, tok = self.device()
        r = find(self.reqs, "Example 1")
        res = self.send("POST", "/api/v1/owntracks/points?api_key=" + tok, body=r["body"],
                        headers=headers_of(r, drop=("authorization",)))
        self.assert_json_reply(res, [], "/api/v1/owntracks/points")
        self.check_fix(self.one(name), POS_LAT, POS_LON, T_1030, token=tok, alt=44, battery=87)

    def test_example2_pub(self):
        name, tok = self.device()
        r = find(self.reqs, "Example 2")
        self.assert_json_reply(self._post(r, r["target"], tok), [], "/pub")
        self.check_fix(self.one(name), 48.856826, 2.292713, T_1030, token=tok, battery=11,
                       speed=None, course=None, accuracy=None)

    def test_example3_transition_not_stored(self):
        name, tok = self.device()
        r = find(self.reqs, "Example 3")
        self.assert_json_reply(self._post(r, "/owntracks", tok), [], "transition")
        self.assertEqual(self.pts(name), [], "transition stored as a fix")

    def test_example4_encrypted_not_stored(self):
        name, tok = self.device()
        r = find(self.reqs, "Example 4")
        self.assert_json_reply(self._post(r, "/owntracks", tok), [], "encrypted")
        self.assertEqual(self.pts(name), [])

    def test_other_types_not_stored(self):
        name, tok = self.device()
        for t in ("waypoint", "waypoints", "card", "status", "cmd", "lwt", "steps"):
            body = json.dumps({"_type": t, "lat": 52.5, "lon": 13.4, "tst": 1714558999, "tid": "ph"})
            res = self.send("POST", "/pub", body=body,
                            headers={"Authorization": basic(USER, tok), "Content-Type": "application/json"})
            self.assert_json_reply(res, [], t)
        self.assertEqual(self.pts(name), [])

    def test_overland_owntracks_mode(self):
        # overland.http Example 3: Overland's "owntracks" logging mode, one location object
        name, tok = self.device()
        r = find(client_requests("overland.http"), "Example 3")
        res = self.send("POST", "/owntracks", body=r["body"],
                        headers=headers_of(r, extra={"Authorization": basic(USER, tok)}))
        self.assert_json_reply(res, [], "owntracks mode")
        f = self.one(name)
        self.assertAlmostEqual(f["geometry"]["coordinates"][1], POS_LAT, delta=1e-7)
        self.assertEqual(f["properties"].get("battery"), 87)

    def test_duplicate_stored_once(self):
        name, tok = self.device()
        r = find(self.reqs, "Example 1")
        for i in range(2):
            self.assert_json_reply(self._post(r, "/owntracks", tok), [], "send %d" % i)
        self.assertEqual(len(self.pts(name)), 1)


class Overland(ProtocolBase):
    reqs = client_requests("overland.http")
    OK = {"result": "ok"}

    def _check_ex1(self, name, tok):
        f = self.pts(name)
        self.assertEqual(len(f), 2, json.dumps(f)[:600])
        p, a = self.check_fix(f[0], POS_LAT, POS_LON, T_1030, token=tok, alt=44, speed=14, course=272,
                              accuracy=5, battery=87)
        self.check_fix(f[1], 52.520101, 13.405121, "2024-05-01T10:15:31.000Z", token=tok, alt=44, speed=14,
                       course=271, accuracy=5, battery=87)

    def test_example1_bearer(self):
        name, tok = self.device()
        r = find(self.reqs, "Example 1")
        res = self.send("POST", "/overland", body=r["body"],
                        headers=headers_of(r, extra={"Authorization": "Bearer " + tok}))
        self.assert_json_reply(res, self.OK, "/overland")
        self._check_ex1(name, tok)

    def test_example1_token_query(self):
        name, tok = self.device()
        r = find(self.reqs, "Example 1")
        res = self.send("POST", "/overland?token=" + tok, body=r["body"],
                        headers=headers_of(r, drop=("authorization",)))
        self.assert_json_reply(res, self.OK, "/overland?token")
        self._check_ex1(name, tok)

    def test_example1_dawarich(self):
        name, tok = self.device()
        r = find(self.reqs, "Example 1")
        res = self.send("POST", "/api/v1/overland/batches?api_key=" + tok, body=r["body"],
                        headers=headers_of(r, drop=("authorization",)))
        self.assert_json_reply(res, self.OK, "/api/v1/overland/batches")
        self._check_ex1(name, tok)

    def test_example2_trip_and_current(self):
        name, tok = self.device()
        r = find(self.reqs, "Example 2")
        res = self.send("POST", "/overland", body=r["body"],
                        headers=headers_of(r, extra={"Authorization": "Bearer " + tok}))
        self.assert_json_reply(res, self.OK, "/overland batch with trip")
        f = self.pts(name)
        times = [x["properties"]["time"] for x in f]
        self.assertIn(T_1030, times)
        self.assertNotIn("2024-05-01T10:40:00.000Z", times, "trip feature stored as a fix")
        self.assertIn(len(f), (1, 2), times)
        self.check_fix(f[0], POS_LAT, POS_LON, T_1030, token=tok, alt=44, speed=14, battery=87)
        if len(f) == 2:    # `current` may be stored; then with its sentinels honoured
            self.check_fix(f[1], 52.51, 13.45, "2024-05-01T12:00:00.000Z", token=tok, alt=40, speed=0,
                           course=None, accuracy=8, battery=60)

    def test_sentinels_absent(self):
        name, tok = self.device()
        feat = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [13.404954, 52.520008]},
                "properties": {"timestamp": "2024-05-01T10:15:30Z", "speed": -1, "course": -1,
                               "horizontal_accuracy": -1, "vertical_accuracy": -1, "battery_level": -1,
                               "altitude": 0}}
        res = self.send("POST", "/overland", body=json.dumps({"locations": [feat]}),
                        headers={"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
        self.assert_json_reply(res, self.OK)
        self.check_fix(self.one(name), POS_LAT, POS_LON, T_1030, token=tok, alt=0, speed=None, course=None,
                       accuracy=None, battery=None)

    def test_dawarich_offset_time_percent_battery(self):
        # GPSLogger's Dawarich sender: local time with offset + ms, integer percent battery
        name, tok = self.device()
        feat = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [13.404954, 52.520008]},
                "properties": {"timestamp": "2024-05-01T12:15:30.456+02:00", "battery_level": 87,
                               "speed": 0, "altitude": 0}}
        res = self.send("POST", "/api/v1/overland/batches?api_key=" + tok,
                        body=json.dumps({"locations": [feat]}), headers={"Content-Type": "application/json"})
        self.assertTrue(200 <= res[0] < 300, res)
        self.check_fix(self.one(name), POS_LAT, POS_LON, "2024-05-01T10:15:30.456Z", token=tok, alt=0,
                       speed=0, battery=87)

    def test_log_action_without_geometry(self):
        name, tok = self.device()
        feat = {"type": "Feature", "properties": {"timestamp": "2024-05-01T10:15:30Z", "action": "pause"}}
        visit = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [13.4, 52.5]},
                 "properties": {"timestamp": "2024-05-01T10:20:00Z", "action": "visit",
                                "arrival_date": "2024-05-01T10:00:00Z", "departure_date": None}}
        res = self.send("POST", "/overland", body=json.dumps({"locations": [feat, visit]}),
                        headers={"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
        self.assert_json_reply(res, self.OK)
        self.assertEqual(self.pts(name), [])

    def test_duplicate_batch(self):
        name, tok = self.device()
        r = find(self.reqs, "Example 1")
        for i in range(2):
            res = self.send("POST", "/overland", body=r["body"],
                            headers=headers_of(r, extra={"Authorization": "Bearer " + tok}))
            self.assert_json_reply(res, self.OK, "send %d" % i)
        self.assertEqual(len(self.pts(name)), 2)


class MuLogger(ProtocolBase):
    reqs = client_requests("ulogger.http")

    def _login(self, tok):
        r = find(self.reqs, "1)")
        body = r["body"].replace(b"user=demo", b"user=" + USER.encode()).replace(b"pass=demo", b"pass=" + tok.encode())
        st, hdrs, data = self.send("POST", "/client/index.php", body=body, headers=headers_of(r))
        self.assert_json_reply((st, hdrs, data), {"error": False}, "auth")
        sc = hdrs.get("set-cookie")
        self.assertTrue(sc, "auth must set a session cookie")
        return sc.split(";", 1)[0].strip()

    def _addtrack(self, cookie):
        r = find(self.reqs, "2)")
        st, hdrs, data = self.send("POST", "/client/index.php", body=r["body"],
                                   headers=headers_of(r, extra={"Cookie": cookie}))
        self.assertEqual(st, 200, data)
        self.assertTrue(hdrs.get("content-type", "").startswith("application/json"), hdrs)
        doc = json.loads(data)
        self.assertIs(doc.get("error"), False, doc)
        self.assertIsInstance(doc.get("trackid"), int, doc)
        self.assertNotIsInstance(doc.get("trackid"), bool)
        return doc["trackid"]

    def test_head_probe(self):
        r = find(self.reqs, "0)")
        st, hdrs, data = self.send("HEAD", r["target"], headers=headers_of(r))
        self.assertEqual(st, 200)
        self.assertEqual(data, b"")

    def test_auth_addtrack_addpos_form(self):
        name, tok = self.device()
        cookie = self._login(tok)
        tid = self._addtrack(cookie)
        r = find(self.reqs, "3)")
        body = r["body"].replace(b"trackid=12", b"trackid=%d" % tid)
        res = self.send("POST", "/client/index.php", body=body, headers=headers_of(r, extra={"Cookie": cookie}))
        self.assert_json_reply(res, {"error": False}, "addpos")
        p, a = self.check_fix(self.one(name), POS_LAT, POS_LON, T_1030, token=tok, creds=("pass",), alt=43.7, speed=13.9,
                              course=271.5, accuracy=4.8)
        self.assertNotIn("pass", a)

    def test_addpos_multipart(self):
        name, tok = self.device()
        cookie = self._login(tok)
        tid = self._addtrack(cookie)
        r = find(self.reqs, "3b)")
        body = r["body"].replace(b"\n12\n", b"\n%d\n" % tid).replace(b"\n", b"\r\n") + b"\r\n"
        res = self.send("POST", "/client/index.php", body=body, headers=headers_of(r, extra={"Cookie": cookie}))
        self.assert_json_reply(res, {"error": False}, "multipart addpos")
        self.check_fix(self.one(name), POS_LAT, POS_LON, T_1030, token=tok, creds=("pass",))

    def test_two_devices_same_user(self):
        # pass selects the device among the user's devices
        n1, t1 = self.device("1")
        n2, t2 = self.device("2")
        c2 = self._login(t2)
        tid = self._addtrack(c2)
        r = find(self.reqs, "3)")
        body = r["body"].replace(b"trackid=12", b"trackid=%d" % tid)
        res = self.send("POST", "/client/index.php", body=body, headers=headers_of(r, extra={"Cookie": c2}))
        self.assert_json_reply(res, {"error": False})
        self.assertEqual(self.pts(n1), [])
        self.assertEqual(len(self.pts(n2)), 1)


class Identity(ProtocolBase):
    """Names in a request never select another device than the token's."""

    def test_names_never_select_device(self):
        a, ta = self.device("A")
        b, tb = self.device("B")
        ot = {"_type": "location", "lat": 52.52, "lon": 13.40, "tst": 1714558530, "tid": "iB",
              "topic": "owntracks/%s/%s" % (USER, b)}
        res = self.send("POST", "/owntracks?u=%s&d=%s" % (USER, b), body=json.dumps(ot),
                        headers={"Authorization": basic(USER, ta), "X-Limit-U": USER, "X-Limit-D": b,
                                 "Content-Type": "application/json"})
        self.assert_json_reply(res, [], "owntracks")
        ot["tst"] += 1
        res = self.send("POST", "/pub?u=%s&d=%s" % (USER, b), body=json.dumps(ot),
                        headers={"Authorization": basic(USER, ta), "X-Limit-U": USER, "X-Limit-D": b})
        self.assert_json_reply(res, [], "pub")
        st, _, d = self.send("GET", "/osmand?token=%s&u=%s&d=%s&user=%s&device=%s&lat=52.52&lon=13.4"
                                    "&timestamp=1714558540000" % (ta, USER, b, USER, b))
        self.assertEqual(st, 200, d)
        st, _, d = self.send("GET", "/gpslogger?token=%s&user=%s&device=%s&lat=52.52&lon=13.4"
                                    "&timestamp=1714558550" % (ta, USER, b))
        self.assertEqual(st, 200, d)
        feat = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [13.4, 52.52]},
                "properties": {"timestamp": "2024-05-01T10:16:00Z", "device_id": b}}
        res = self.send("POST", "/overland", body=json.dumps({"locations": [feat]}),
                        headers={"Authorization": "Bearer " + ta, "Content-Type": "application/json"})
        self.assert_json_reply(res, {"result": "ok"}, "overland")
        self.assertEqual(self.pts(b), [], "a name in the request selected device B")
        self.assertEqual(len(self.pts(a)), 5)

    def test_other_users_device_invisible(self):
        other = "bob"
        self.m.add_user(other, "bob-secret-1")
        d = self.m.add_device(other, "bobphone")
        st, _, data = self.send("GET", "/osmand?token=%s&lat=1&lon=2&timestamp=1714558530" % d["token"])
        self.assertEqual(st, 200, data)
        st, doc = self.m.api("/api/points?device=bobphone", USER, PASSWORD)
        self.assertEqual(st, 404, "alice sees bob's device: %r" % (doc,))
        self.assertEqual(len(self.m.points("bobphone", other, "bob-secret-1")), 1)


if __name__ == "__main__":
    unittest.main()
