"""Functional-test harness: runs the real mintrac binary (MINTRAC_BIN) in a
temporary data directory and talks to it over 127.0.0.1 only.

Shared by every tests/functional/test_*.py; Python 3 standard library only.
"""
import base64
import http.client
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import unittest
import time
import urllib.parse

BIN = os.environ["MINTRAC_BIN"]
# The requests each phone app really sends (tests/fixtures/clients/*.http,
# with where each was read from in its README).
CLIENTS = os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "clients"))

CLI_TIMEOUT = 60

# The store backend this run tests (run.py --backend): "sqlite" (each data
# directory's mintrac.db) or "postgresql" (a database of pgcluster's cluster
# per Mintrac, handed to every mintrac it runs as MINTRAC_STORE).
BACKEND = os.environ.get("MINTRAC_TEST_BACKEND", "sqlite")
if BACKEND not in ("sqlite", "postgresql"):
    raise SystemExit("MINTRAC_TEST_BACKEND=%r: want sqlite or postgresql" % BACKEND)
# Mintrac(store=DATADIR_DB): the SQLite file in the data directory, whatever
# the run's backend (a migration's source, say).
DATADIR_DB = "datadir"
_dbs = itertools.count(1)


def sqlite_only(reason):
    """Skips a test or class on other backends: it is about the SQLite file
    itself (its WAL, the VFS, a file copy), not about what mintrac promises."""
    return unittest.skipIf(BACKEND != "sqlite", "SQLite only: " + reason)


def postgresql_only(reason):
    return unittest.skipIf(BACKEND != "postgresql", "PostgreSQL only: " + reason)


def free_port() -> int:
    """A port the kernel says is free right now on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port, host="127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def wait_port(port, timeout=15, proc=None):
    """Wait until 127.0.0.1:port accepts; AssertionError after timeout (or
    at once when proc, if given, has exited)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError("process exited (rc %s) before port %d accepted" % (proc.returncode, port))
        time.sleep(0.05)
    raise AssertionError("port %d did not accept within %s s" % (port, timeout))


def basic(user, password) -> str:
    raw = ("%s:%s" % (user, password)).encode("utf-8")
    return "Basic " + base64.b64encode(raw).decode("ascii")


# --- raw HTTP response parsing (for pipelining / raw-socket tests) ----------

def _parse_one_response(buf: bytes, head_request=False):
    """Parse one HTTP/1.x response at the start of buf. Returns
    (status, headers(lower-cased dict), body, consumed) or None if incomplete.
    head_request: the response has no body whatever Content-Length says."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end].decode("iso-8859-1")
    lines = head.split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
    if not m:
        raise AssertionError("bad status line %r" % lines[0])
    status = int(m.group(1))
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    pos = end + 4
    if head_request or status in (204, 304) or 100 <= status < 200:
        return status, headers, b"", pos
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = b""
        while True:
            nl = buf.find(b"\r\n", pos)
            if nl < 0:
                return None
            size = int(buf[pos:nl].split(b";")[0], 16)
            pos = nl + 2
            if size == 0:
                tend = buf.find(b"\r\n\r\n", pos - 2)
                if tend < 0:
                    return None
                return status, headers, body, tend + 4
            if len(buf) < pos + size + 2:
                return None
            body += buf[pos:pos + size]
            pos += size + 2
    if "content-length" in headers:
        n = int(headers["content-length"])
        if len(buf) < pos + n:
            return None
        return status, headers, buf[pos:pos + n], pos + n
    # No length: body runs to EOF; the caller decides when EOF happened.
    return None


def parse_responses(data: bytes, eof=True):
    """Split a byte stream into [(status, headers, body)]; a trailing response
    without framing takes the rest of the stream when eof."""
    out = []
    while data:
        r = _parse_one_response(data)
        if r is None:
            end = data.find(b"\r\n\r\n")
            if eof and end >= 0:
                st = int(data[9:12])
                hdrs = {}
                for line in data[:end].decode("iso-8859-1").split("\r\n")[1:]:
                    k, _, v = line.partition(":")
                    hdrs[k.strip().lower()] = v.strip()
                out.append((st, hdrs, data[end + 4:]))
            break
        st, hdrs, body, used = r
        out.append((st, hdrs, body))
        data = data[used:]
    return out


def recv_responses(sock, n, timeout=10):
    """Read n complete responses from sock. Returns (responses, eof) where eof
    says the server closed the connection. Stops early at EOF or timeout."""
    deadline = time.monotonic() + timeout
    buf = b""
    out = []
    eof = False
    while len(out) < n:
        r = _parse_one_response(buf) if buf else None
        if r is not None:
            st, hdrs, body, used = r
            out.append((st, hdrs, body))
            buf = buf[used:]
            continue
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            eof = True
            break
        if not chunk:
            eof = True
            break
        buf += chunk
    if eof and buf and len(out) < n:
        out.extend(parse_responses(buf, eof=True))
    return out, eof


def is_closed(sock, timeout=3) -> bool:
    """True if the peer closes sock (EOF/reset) within timeout with no more data."""
    sock.settimeout(timeout)
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return True
    except socket.timeout:
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True


# --- the .http corpus --------------------------------------------------------

_REQ_LINE = re.compile(r"^(GET|POST|HEAD|PUT|DELETE|PATCH|OPTIONS) (\S+) HTTP/1\.[01]\s*$")


def parse_http_file(path) -> list:
    """Requests in a clients/*.http file: [{"method","target","headers":[(k,v)],
    "body":bytes,"line":N,"title":str}]. '#' lines are comments; a METHOD
    line starts a request, an "HTTP/1.1" line a response block (skipped); the
    body is the lines after the blank line up to the next '#' line or
    request/response start, trailing blank lines stripped. title is the last
    comment line before the request that mentions an example/section."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    reqs = []
    cur = None
    state = "none"          # none | headers | body | response
    title = ""
    body_lines = []

    def finish():
        nonlocal cur, body_lines
        if cur is not None:
            while body_lines and body_lines[-1].strip() == "":
                body_lines.pop()
            cur["body"] = "\n".join(body_lines).encode("utf-8")
            reqs.append(cur)
        cur = None
        body_lines = []

    for i, raw in enumerate(lines, 1):
        line = raw.rstrip("\r")
        m = _REQ_LINE.match(line)
        if m:
            finish()
            cur = {"method": m.group(1), "target": m.group(2), "headers": [], "body": b"",
                   "line": i, "title": title}
            state = "headers"
            continue
        if line.startswith("HTTP/1."):
            finish()
            state = "response"
            continue
        if line.startswith("#"):
            t = line.lstrip("#").strip()
            if re.match(r"(Example \d|\([A-D]\)|\d+b?\))", t):
                title = t
            if state == "body":
                finish()
                state = "none"
            elif state == "response":
                state = "none"
            # comments inside a header block are skipped, the block goes on
            continue
        if state == "headers":
            if line.strip() == "":
                state = "body"
            else:
                k, _, v = line.partition(":")
                cur["headers"].append((k.strip(), v.strip()))
        elif state == "body":
            body_lines.append(line)
    finish()
    return reqs


def client_requests(name) -> list:
    return parse_http_file(os.path.join(CLIENTS, name))


# --- the server under test ---------------------------------------------------

class Mintrac:
    """One data directory (init'ed) and, after run(), one `mintrac run`."""

    def __init__(self, conf=None, store=None):
        """store: None for the run's backend (on PostgreSQL a new database,
        dropped by close()), DATADIR_DB for DATADIR/mintrac.db, or a store
        location ("sqlite:PATH", "postgresql://...") shared with others."""
        self.root = tempfile.mkdtemp(prefix="mintrac-ft-")
        self.datadir = os.path.join(self.root, "data")
        self.proc = None
        self.rport = None
        self.wport = None
        self.orphans = False
        self._logf = None
        self.dbname = None          # the database this instance created
        if store is None and BACKEND == "postgresql":
            import pgcluster
            self.dbname = "mt_%d_%d" % (os.getpid(), next(_dbs))
            try:
                store = pgcluster.create_database(self.dbname)
            except BaseException:
                self.dbname = None
                shutil.rmtree(self.root, ignore_errors=True)
                raise
        self.store = None if store in (None, DATADIR_DB) else store
        try:
            self.cli("init")
            self._check_store()
        except BaseException:
            self.close()
            raise
        if conf:
            with open(os.path.join(self.datadir, "mintrac.conf"), "a", encoding="utf-8") as f:
                f.write("\n")
                for k, v in conf.items():
                    f.write("%s = %s\n" % (k, v))

    def environ(self, extra=None) -> dict:
        """The environment every mintrac of this instance runs with: ours,
        MINTRAC_STORE naming its store (none for DATADIR/mintrac.db), then
        extra (which may name another store)."""
        e = dict(os.environ)
        e.pop("MINTRAC_STORE", None)
        if self.store:
            e["MINTRAC_STORE"] = self.store
        if extra:
            e.update(extra)
        return e

    def _check_store(self):
        """A mintrac that ignored MINTRAC_STORE would run the whole suite on
        SQLite and pass: on a database, init must have made no file and
        must have created tables there."""
        if not (self.store or "").startswith("postgresql:"):
            return
        db = os.path.join(self.datadir, "mintrac.db")
        if os.path.exists(db):
            raise AssertionError("MINTRAC_STORE=%s, yet init created %s: this mintrac does not "
                                 "read the store location" % (self.store, db))
        if self.dbname is not None:
            import pgcluster
            n = pgcluster.query("SELECT count(*) FROM pg_tables WHERE schemaname NOT IN "
                                "('pg_catalog', 'information_schema')", self.dbname)
            if n == "0":
                raise AssertionError("init with MINTRAC_STORE=%s created no table in the database"
                                     % self.store)

    # --- CLI
    def cli(self, *args, stdin=None, check=True, env=None) -> subprocess.CompletedProcess:
        cmd = [BIN, "-d", self.datadir] + [str(a) for a in args]
        cp = subprocess.run(cmd, input=stdin, capture_output=True, text=True,
                            timeout=CLI_TIMEOUT, env=self.environ(env))
        if check and cp.returncode != 0:
            raise AssertionError("%s -> exit %d\nstdout: %s\nstderr: %s"
                                 % (" ".join(cmd), cp.returncode, cp.stdout, cp.stderr))
        return cp

    def add_user(self, name, password) -> None:
        self.cli("user", "add", name, "--password-stdin", stdin=password + "\n")

    def add_device(self, user, name, ident=None) -> dict:
        args = ["device", "add", user, name]
        if ident is not None:
            args += ["--ident", ident]
        cp = self.cli(*args, "--json")
        try:
            return json.loads(cp.stdout)
        except ValueError:
            raise AssertionError("device add --json printed no JSON object: %r" % cp.stdout)

    def new_token(self, user, device) -> str:
        cp = self.cli("device", "token", user, device, "--json")
        return json.loads(cp.stdout)["token"]

    # --- servers
    def run(self, *extra, env=None) -> None:
        self.rport = free_port()
        self.wport = free_port()
        while self.wport == self.rport:
            self.wport = free_port()
        self._logf = open(os.path.join(self.datadir, "run.log"), "ab")
        cmd = [BIN, "-d", self.datadir, "run",
               "--receiver-listen", "127.0.0.1:%d" % self.rport,
               "--webapp-listen", "127.0.0.1:%d" % self.wport] + [str(a) for a in extra]
        # Own process group so a last-resort SIGKILL also reaches the children.
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._logf,
                                     stderr=self._logf, start_new_session=True,
                                     env=self.environ(env))
        try:
            only_r = "--receiver" in extra
            only_w = "--webapp" in extra
            if not only_w:
                wait_port(self.rport, 15, self.proc)
            if not only_r:
                wait_port(self.wport, 15, self.proc)
        except AssertionError as e:
            self._kill_group()
            raise AssertionError("%s\nlog:\n%s" % (e, self.log()))

    def _kill_group(self):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass

    def stop(self, sig=signal.SIGTERM, timeout=20) -> int:
        """Signal the supervisor and wait; returns its exit status. Raises
        (after SIGKILL of the whole group) if it does not exit in time."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill_group()
            self.proc = None
            raise AssertionError("mintrac run did not exit within %s s after signal %d" % (timeout, sig))
        # Children the supervisor left behind go with the group; self.orphans
        # records that it happened so a test can assert it did not.
        self.orphans = False
        try:
            os.killpg(self.proc.pid, 0)
            time.sleep(0.5)
            os.killpg(self.proc.pid, 0)
            self.orphans = True
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc = None
        if self._logf:
            self._logf.close()
            self._logf = None
        return rc

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # --- HTTP
    def request(self, method, path, body=None, headers=None, port=None, timeout=10):
        """One request on a new connection -> (status, headers lower-cased, body)."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        conn = http.client.HTTPConnection("127.0.0.1", port or self.rport, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
            return resp.status, hdrs, data
        finally:
            conn.close()

    def api(self, path, user, password, port=None):
        st, hdrs, body = self.request("GET", path, headers={"Authorization": basic(user, password)},
                                      port=port or self.wport)
        if "json" in hdrs.get("content-type", ""):
            try:
                return st, json.loads(body.decode("utf-8"))
            except ValueError:
                raise AssertionError("%s: invalid JSON body %r" % (path, body[:300]))
        return st, body

    def points(self, device, user, password, **params) -> list:
        q = {"device": device}
        q.update({k: str(v) for k, v in params.items()})
        path = "/api/points?" + urllib.parse.urlencode(q, quote_via=urllib.parse.quote)
        st, doc = self.api(path, user, password)
        assert st == 200, "GET %s -> %s %r" % (path, st, doc)
        assert isinstance(doc, dict) and doc.get("type") == "FeatureCollection", \
            "GET %s: not a FeatureCollection: %r" % (path, doc)
        return doc["features"]

    def devices(self, user, password) -> list:
        st, doc = self.api("/api/devices", user, password)
        assert st == 200, "GET /api/devices -> %s %r" % (st, doc)
        return doc

    def device_count(self, device, user, password) -> int:
        for d in self.devices(user, password):
            if d.get("name") == device:
                return d.get("points")
        raise AssertionError("device %r not in /api/devices" % device)

    def raw(self, data: bytes, port=None, timeout=5) -> bytes:
        """Send data on one new socket, read until EOF or timeout."""
        deadline = time.monotonic() + timeout
        out = b""
        with socket.create_connection(("127.0.0.1", port or self.rport), timeout=timeout) as s:
            try:
                s.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                s.settimeout(left)
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    break
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                out += chunk
        return out

    def connect(self, port=None, timeout=10) -> socket.socket:
        return socket.create_connection(("127.0.0.1", port or self.rport), timeout=timeout)

    def log(self) -> str:
        try:
            with open(os.path.join(self.datadir, "run.log"), encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def sanitizer_report(self) -> list:
        """Lines of run.log where ASan/UBSan/LSan reported a problem."""
        pat = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:")
        return [l for l in self.log().splitlines() if pat.search(l)]

    def stop_checked(self) -> str:
        """Stop with SIGTERM; return "" if it exited 0 with no sanitizer
        report in run.log, else a description of what went wrong."""
        try:
            rc = self.stop()
        except AssertionError as e:
            return str(e)
        problems = []
        if rc != 0:
            problems.append("mintrac run exited %s after SIGTERM" % rc)
        if self.orphans:
            problems.append("children still running after the supervisor exited")
        rep = self.sanitizer_report()
        if rep:
            problems.append("sanitizer reports in run.log:\n" + "\n".join(rep[:20]))
        return "\n".join(problems)

    def close(self):
        if self.proc is not None:
            try:
                self.stop(signal.SIGTERM, 20)
            except AssertionError:
                pass
        if self._logf:
            self._logf.close()
            self._logf = None
        shutil.rmtree(self.root, ignore_errors=True)
        if self.dbname is not None:
            import pgcluster
            name, self.dbname = self.dbname, None
            try:
                pgcluster.drop_database(name)
            except Exception as e:      # the cluster goes at the end of the run anyway
                print("  [could not drop database %s: %s]" % (name, e))


class ServerCase(unittest.TestCase):
    """One running mintrac per test class. `users` are added and prepare()
    runs before the servers start (with `conf` written to the config); the
    class fails at teardown when the servers did not stop cleanly (exit 0,
    no leftover children, no sanitizer report)."""
    m = None
    users = (("alice", "alice-secret-1"),)
    conf = None
    run_env = None      # extra environment for `mintrac run`

    @classmethod
    def prepare(cls):
        pass

    @classmethod
    def setUpClass(cls):
        cls.m = Mintrac(conf=cls.conf)
        try:
            for name, password in cls.users:
                cls.m.add_user(name, password)
            cls.prepare()
            cls.m.run(env=cls.run_env)
        except BaseException:
            cls.m.close()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            problem = cls.m.stop_checked()
        finally:
            cls.m.close()
        if problem:
            raise AssertionError("%s: %s" % (cls.__name__, problem))

    def device(self, suffix="", ident=None):
        """A new device of the first user, named after the test: (name, token)."""
        name = (self._testMethodName[5:] + suffix)[:64]
        d = self.m.add_device(self.users[0][0], name, ident=ident)
        self.assertRegex(d["token"], r"^[A-Za-z0-9_-]{22,}$")
        return name, d["token"]
