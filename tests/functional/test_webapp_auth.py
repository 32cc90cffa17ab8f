"""Signing in to the webapp: the session cookie and its attributes, logout,
CSRF and cross-site checks, 401s without credentials, and a password
change ending the sessions (guessing and floods: test_signin_guard.py)."""
import json
import re
import time
import urllib.parse

from harness import ServerCase, basic

SESSION_MAX_AGE = 2592000  # 30 days, src/webapp/session.h

TOKEN_RE = r"^[A-Za-z0-9_-]{32}$"


def web(m, method, path, body=None, headers=None):
    """One request to the webapp -> (status, headers, parsed JSON or raw bytes).
    A dict or list body is sent as JSON."""
    h = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        h.setdefault("Content-Type", "application/json")
    if body is None and method in ("POST", "PATCH", "DELETE"):
        body = b""
    st, hdrs, data = m.request(method, path, body=body, headers=h, port=m.wport)
    if "json" in hdrs.get("content-type", "") and data:
        try:
            return st, hdrs, json.loads(data.decode("utf-8"))
        except ValueError:
            raise AssertionError("%s %s: invalid JSON %r" % (method, path, data[:300]))
    return st, hdrs, data


def cookie_attrs(set_cookie):
    """'a=b; Path=/; HttpOnly' -> ('a', 'b', {'path': '/', 'httponly': True})"""
    parts = [p.strip() for p in set_cookie.split(";")]
    name, _, value = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        k, eq, v = p.partition("=")
        attrs[k.lower()] = v if eq else True
    return name, value, attrs


class Browser:
    """A signed-in page: sends the session cookie, and the CSRF token on
    state-changing requests (as the page's own script does)."""

    def __init__(self, m, user, password, headers=None):
        self.m = m
        self.user = user
        st, hdrs, doc = web(m, "POST", "/api/login", {"user": user, "password": password},
                            headers=headers)
        if st != 200:
            raise AssertionError("login as %s -> %s %r" % (user, st, doc))
        name, value, _ = cookie_attrs(hdrs["set-cookie"])
        self.cookie = "%s=%s" % (name, value)
        self.csrf = doc["csrf"]
        self.login_headers = hdrs

    def call(self, method, path, body=None, headers=None, csrf=True):
        h = {"Cookie": self.cookie}
        if csrf and method not in ("GET", "HEAD"):
            h["X-CSRF-Token"] = self.csrf
        h.update(headers or {})
        return web(self.m, method, path, body, h)


class BasicClient:
    """A script with HTTP Basic credentials (no cookie, no CSRF token)."""

    def __init__(self, m, user, password):
        self.m = m
        self.user = user
        self.auth = basic(user, password)

    def call(self, method, path, body=None, headers=None):
        h = {"Authorization": self.auth}
        h.update(headers or {})
        return web(self.m, method, path, body, h)


def dev_path(name, rest=""):
    return "/api/devices/" + urllib.parse.quote(name, safe="") + rest


# Every /api route of docs/webapp-api.md that needs a caller (the /api/0/*
# OwnTracks routes are tested with their WWW-Authenticate elsewhere).
AUTH_ROUTES = [
    ("GET", "/api/session"),
    ("GET", "/api/me"),
    ("PATCH", "/api/me"),
    ("GET", "/api/devices"),
    ("POST", "/api/devices"),
    ("PATCH", "/api/devices/phone"),
    ("DELETE", "/api/devices/phone"),
    ("POST", "/api/devices/phone/token"),
    ("GET", "/api/points?device=phone&from=2024-01-01&to=2024-01-02"),
    ("GET", "/api/points?device=phone&zoom=12"),
    ("GET", "/api/last"),
    ("GET", "/api/stream"),
]


class SignIn(ServerCase):
    users = (("alice", "alice-secret-1"), ("bob", "bob-secret-22"), ("carol", "carol-secret-3"))
    # The test client stands in for a reverse proxy on loopback.
    conf = {"trusted_proxies": "127.0.0.1"}

    def test_config_is_public(self):
        st, hdrs, doc = web(self.m, "GET", "/api/config")
        self.assertEqual(st, 200, doc)
        self.assertIn("application/json", hdrs["content-type"])
        self.assertEqual(set(doc), {"version", "tile_url", "tile_attribution"})
        self.assertRegex(doc["version"], r"^\d+\.\d+")
        self.assertTrue(doc["tile_url"].startswith(("http", "/")), doc)
        self.assertIsInstance(doc["tile_attribution"], str)

    def test_login_cookie_attributes_and_use(self):
        b = Browser(self.m, "alice", "alice-secret-1")
        name, value, attrs = cookie_attrs(b.login_headers["set-cookie"])
        self.assertEqual(name, "mintrac_session")
        self.assertRegex(value, TOKEN_RE)
        self.assertIs(attrs.get("httponly"), True, attrs)
        self.assertEqual(attrs.get("samesite"), "Lax")
        self.assertEqual(attrs.get("path"), "/")
        self.assertEqual(attrs.get("max-age"), str(SESSION_MAX_AGE))
        self.assertNotIn("secure", attrs, "Secure on a plain-HTTP login")
        self.assertIn("no-store", b.login_headers.get("cache-control", ""))
        self.assertRegex(b.csrf, r"^[A-Za-z0-9_-]{22,}$")
        self.assertNotEqual(b.csrf, value)
        # The cookie alone signs the page in.
        st, _, doc = b.call("GET", "/api/devices")
        self.assertEqual(st, 200, doc)
        self.assertIsInstance(doc, list)
        st, _, doc = b.call("GET", "/api/session")
        self.assertEqual((st, doc), (200, {"user": "alice", "csrf": b.csrf}))
        # Each login is its own session.
        b2 = Browser(self.m, "alice", "alice-secret-1")
        self.assertNotEqual(b2.cookie, b.cookie)
        self.assertNotEqual(b2.csrf, b.csrf)

    def test_login_secure_cookie_behind_https_proxy(self):
        b = Browser(self.m, "alice", "alice-secret-1", headers={"X-Forwarded-Proto": "https"})
        _, _, attrs = cookie_attrs(b.login_headers["set-cookie"])
        self.assertIs(attrs.get("secure"), True, b.login_headers["set-cookie"])
        self.assertIs(attrs.get("httponly"), True)

    def test_login_behind_a_proxy_that_rewrites_host(self):
        # nginx's default proxy_pass sends Host: upstream; the browser's
        # Origin then names the public host, which X-Forwarded-Host carries
        # (believed from 127.0.0.1, listed in trusted_proxies here).
        body = {"user": "bob", "password": "bob-secret-22"}
        h = {"Host": "127.0.0.1:1", "Origin": "https://tracker.example.com",
             "X-Forwarded-Host": "tracker.example.com"}
        st, _, doc = web(self.m, "POST", "/api/login", body, h)
        self.assertEqual(st, 200, doc)
        # A browser that sends Sec-Fetch-Site vouches for same-origin itself.
        st, _, doc = web(self.m, "POST", "/api/login", body,
                         {"Host": "127.0.0.1:1", "Origin": "https://tracker.example.com",
                          "Sec-Fetch-Site": "same-origin"})
        self.assertEqual(st, 200, doc)
        h["Origin"] = "https://evil.example"
        st, _, doc = web(self.m, "POST", "/api/login", body, h)
        self.assertEqual(st, 403, doc)

    def test_login_with_a_form(self):
        body = urllib.parse.urlencode({"user": "bob", "password": "bob-secret-22"})
        st, hdrs, doc = web(self.m, "POST", "/api/login", body,
                            {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 200, doc)
        self.assertEqual(doc["user"], "bob")
        self.assertTrue(hdrs["set-cookie"].startswith("mintrac_session="))

    def test_wrong_password_and_bad_requests(self):
        fwd = {"X-Forwarded-For": "198.51.100.77"}
        st, hdrs, doc = web(self.m, "POST", "/api/login",
                            {"user": "bob", "password": "not-the-password"}, fwd)
        self.assertEqual(st, 401, doc)
        self.assertIn("error", doc)
        self.assertNotIn("set-cookie", hdrs)
        self.assertNotIn("www-authenticate", hdrs)
        st, _, doc = web(self.m, "POST", "/api/login", {"user": "nobody", "password": "x" * 9}, fwd)
        self.assertEqual(st, 401, doc)
        for body in ({"user": "bob"}, {"password": "x"}, {"user": "bob", "password": 5},
                     [1], "{not json", {"user": "", "password": "bob-secret-22"}):
            with self.subTest(body=body):
                st, hdrs, doc = web(self.m, "POST", "/api/login", body,
                                    {"Content-Type": "application/json"})
                self.assertEqual(st, 400, doc)
                self.assertNotIn("set-cookie", hdrs)
        # Refused sign-ins are logged with the client's address.
        deadline = time.monotonic() + 5
        while "refused sign-in as bob from 198.51.100.77" not in self.m.log():
            self.assertLess(time.monotonic(), deadline, self.m.log()[-2000:])
            time.sleep(0.05)
        # And the right password still works (two failures cost nothing).
        Browser(self.m, "bob", "bob-secret-22", headers=fwd)

    def test_logout_needs_the_csrf_token_and_ends_the_session(self):
        b = Browser(self.m, "alice", "alice-secret-1")
        for headers in ({}, {"X-CSRF-Token": "x" * 32},
                        {"X-CSRF-Token": b.csrf, "Origin": "http://evil.example"},
                        {"X-CSRF-Token": b.csrf, "Sec-Fetch-Site": "cross-site"}):
            with self.subTest(headers=headers):
                st, hdrs, doc = b.call("POST", "/api/logout", headers=headers, csrf=False)
                self.assertEqual(st, 403, doc)
                self.assertNotIn("set-cookie", hdrs)
                st, _, doc = b.call("GET", "/api/session")
                self.assertEqual(st, 200, "a refused logout ended the session")
        st, hdrs, doc = b.call("POST", "/api/logout")
        self.assertEqual((st, doc), (200, {}))
        name, value, attrs = cookie_attrs(hdrs["set-cookie"])
        self.assertEqual((name, value), ("mintrac_session", ""))
        self.assertEqual(attrs.get("max-age"), "0")
        self.assertEqual(attrs.get("path"), "/")
        # The old cookie is dead, whatever the browser does with it.
        for method, path in (("GET", "/api/session"), ("GET", "/api/devices")):
            st, hdrs, doc = b.call(method, path)
            self.assertEqual(st, 401, doc)
            self.assertNotIn("www-authenticate", hdrs)
        st, _, doc = b.call("POST", "/api/devices", {"name": "after logout"})
        self.assertEqual(st, 401, doc)
        # Logging out without a session is harmless.
        st, hdrs, doc = web(self.m, "POST", "/api/logout")
        self.assertEqual((st, doc), (200, {}))
        self.assertIn("Max-Age=0", hdrs["set-cookie"])

    def test_session_with_basic(self):
        st, _, doc = BasicClient(self.m, "bob", "bob-secret-22").call("GET", "/api/session")
        self.assertEqual((st, doc), (200, {"user": "bob", "csrf": ""}))

    def test_csrf_and_cross_site_checks_on_state_changes(self):
        b = Browser(self.m, "alice", "alice-secret-1")
        host = "127.0.0.1:%d" % self.m.wport
        refused = [
            ("no token", {}, False),
            ("wrong token", {"X-CSRF-Token": "A" * 32}, False),
            ("other session's token", {"X-CSRF-Token": Browser(self.m, "alice", "alice-secret-1").csrf}, False),
            ("origin of another host", {"Origin": "http://evil.example"}, True),
            ("origin of another port", {"Origin": "http://127.0.0.1:1"}, True),
            ("opaque origin", {"Origin": "null"}, True),
            ("cross-site fetch", {"Sec-Fetch-Site": "cross-site"}, True),
        ]
        for i, (what, headers, csrf) in enumerate(refused):
            with self.subTest(what):
                st, _, doc = b.call("POST", "/api/devices", {"name": "csrf %d" % i},
                                    headers=headers, csrf=csrf)
                self.assertEqual(st, 403, doc)
                self.assertIn("error", doc)
        st, _, doc = b.call("GET", "/api/devices")
        self.assertFalse([d for d in doc if d["name"].startswith("csrf ")], doc)
        # The page itself: same origin, right token.
        st, _, doc = b.call("POST", "/api/devices", {"name": "csrf ok"},
                            headers={"Origin": "http://" + host, "Sec-Fetch-Site": "same-origin"})
        self.assertEqual(st, 201, doc)
        # Scripts with Basic need no token (they cannot be made cross-site).
        st, _, doc = BasicClient(self.m, "alice", "alice-secret-1").call(
            "POST", "/api/devices", {"name": "csrf basic"})
        self.assertEqual(st, 201, doc)
        # A cross-site request is refused even with Basic.
        st, _, doc = BasicClient(self.m, "alice", "alice-secret-1").call(
            "POST", "/api/devices", {"name": "csrf basic 2"}, headers={"Origin": "http://evil.example"})
        self.assertEqual(st, 403, doc)
        # A cross-site login is refused as well (login CSRF).
        st, _, doc = web(self.m, "POST", "/api/login", {"user": "alice", "password": "alice-secret-1"},
                         {"Origin": "http://evil.example"})
        self.assertEqual(st, 403, doc)

    def test_every_api_route_401_without_credentials(self):
        for creds in ({}, {"Cookie": "mintrac_session=" + "A" * 32},
                      {"Cookie": "mintrac_session=garbage"}):
            for method, path in AUTH_ROUTES:
                with self.subTest(creds=creds, route="%s %s" % (method, path)):
                    body = {"name": "x"} if method in ("POST", "PATCH") else None
                    st, hdrs, doc = web(self.m, method, path, body, creds)
                    self.assertEqual(st, 401, doc)
                    self.assertNotIn("www-authenticate", hdrs)
                    self.assertIn("application/json", hdrs.get("content-type", ""))
                    self.assertIsInstance(doc, dict)
                    self.assertEqual(set(doc), {"error"})
        # The public ones answer without credentials.
        self.assertEqual(web(self.m, "GET", "/api/config")[0], 200)
        self.assertEqual(web(self.m, "POST", "/api/logout")[0], 200)

    def test_password_change_ends_sessions(self):
        b = Browser(self.m, "carol", "carol-secret-3")
        basic_old = BasicClient(self.m, "carol", "carol-secret-3")
        self.assertEqual(b.call("GET", "/api/session")[0], 200)
        self.assertEqual(basic_old.call("GET", "/api/session")[0], 200)
        self.m.cli("user", "passwd", "carol", "--password-stdin", stdin="carol-new-secret\n")
        st, _, doc = b.call("GET", "/api/session")
        self.assertEqual(st, 401, doc)
        st, _, doc = basic_old.call("GET", "/api/session")
        self.assertEqual(st, 401, doc)
        b2 = Browser(self.m, "carol", "carol-new-secret")
        self.assertEqual(b2.call("GET", "/api/session")[0], 200)
        # Deleting the user ends the new session too.
        self.m.cli("user", "del", "carol")
        self.assertEqual(b2.call("GET", "/api/session")[0], 401)
