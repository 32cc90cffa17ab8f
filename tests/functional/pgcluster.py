"""A throwaway PostgreSQL cluster for the functional tests (run.py
--backend postgresql): initdb in a temporary directory, one postgres on a
free 127.0.0.1 port with its unix socket in that directory, trust
authentication for the superuser "mintrac", removed again by stop().

initdb and postgres refuse to run as root, and CI runs as root: there they
run as the `postgres` user Debian's package creates (else `nobody`), which
owns the directory. psql only talks TCP to 127.0.0.1 and runs as whoever
we are. Python 3 standard library only.

    start()                 the cluster, once per test run
    create_database(name)   -> "postgresql://mintrac@127.0.0.1:PORT/NAME"
    drop_database(name)     even while servers are still connected
    query(sql, db)          psql's unaligned output, stripped
    restart(pause)          the same cluster down and up again
    stop()                  stopped and its directory removed
"""
import atexit
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time

SUPERUSER = "mintrac"
START_TIMEOUT = 60
# Small: one cluster serves a whole test run next to the servers under test
# on a 2-core machine. fsync stays on, so a 2xx still means on disk.
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "shared_buffers": "'16MB'",
    "max_connections": "200",
    "log_min_messages": "warning",
    "log_connections": "off",
}
NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

_cluster = None


class ClusterError(Exception):
    pass


def _version_key(path):
    m = re.search(r"/postgresql/([0-9.]+)/bin$", path)
    return [int(x) for x in m.group(1).split(".") if x] if m else []


def find_bindir():
    """The directory with initdb, pg_ctl and postgres: the newest
    /usr/lib/postgresql/*/bin (Debian keeps them off PATH), else PATH's."""
    dirs = [d for d in glob.glob("/usr/lib/postgresql/*/bin")
            if os.access(os.path.join(d, "pg_ctl"), os.X_OK)]
    if dirs:
        return max(dirs, key=_version_key)
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl and shutil.which("initdb") and shutil.which("postgres"):
        return os.path.dirname(os.path.realpath(pg_ctl))
    return None


def _server_user():
    """None when we are not root; else an unprivileged user to run as."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
    raise ClusterError("running as root and there is neither a 'postgres' nor a 'nobody' user "
                       "for initdb/postgres to run as")


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self):
        self.bindir = find_bindir()
        if self.bindir is None:
            raise ClusterError("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in "
                               "/usr/lib/postgresql/*/bin or PATH: bash scripts/setup.sh --with-postgresql")
        self.psql_bin = os.path.join(self.bindir, "psql")
        if not os.access(self.psql_bin, os.X_OK):
            self.psql_bin = shutil.which("psql")
        if not self.psql_bin:
            raise ClusterError("psql not found (Debian: postgresql-client)")
        self.user = _server_user()
        self.root = tempfile.mkdtemp(prefix="mintrac-pg-")
        self.data = os.path.join(self.root, "data")
        self.logfile = os.path.join(self.root, "postgres.log")
        self.port = None
        self.running = False
        if self.user is not None:
            # mkdtemp made it 0700 for root; the server user owns it instead.
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)

    def _as_server_user(self, args):
        if self.user is None:
            return args
        if shutil.which("runuser"):
            return ["runuser", "-u", self.user.pw_name, "--"] + args
        return ["setpriv", "--reuid", str(self.user.pw_uid), "--regid", str(self.user.pw_gid),
                "--init-groups", "--"] + args

    def _run(self, args, timeout):
        """A server-side program as the server user; ClusterError with its
        output (and the server log's tail) when it fails."""
        cmd = self._as_server_user([os.path.join(self.bindir, args[0])] + args[1:])
        # Our cwd may not be readable for the server user; its HOME may not exist.
        env = dict(os.environ, LC_ALL="C", HOME=self.root)
        env.pop("PGDATA", None)
        try:
            cp = subprocess.run(cmd, cwd=self.root, env=env, capture_output=True, text=True,
                                timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise ClusterError("%s timed out after %d s\n%s" % (args[0], timeout, self.log_tail()))
        if cp.returncode != 0:
            raise ClusterError("%s exited %d: %s%s\n%s" % (" ".join(args[:2]), cp.returncode,
                                                         cp.stdout, cp.stderr, self.log_tail()))
        return cp

    def log_tail(self, n=20):
        try:
            with open(self.logfile, encoding="utf-8", errors="replace") as f:
                return "\n".join(f.read().splitlines()[-n:])
        except OSError:
            return ""

    def init(self):
        # --locale=C: byte-order text comparison, as SQLite's default
        # collation, so both backends sort names alike.
        self._run(["initdb", "-D", self.data, "--auth=trust", "-U", SUPERUSER, "-E", "UTF8",
                   "--locale=C", "--no-sync"], 120)

    def _configure(self):
        lines = ["%s = %s" % kv for kv in SETTINGS.items()]
        lines.append("port = %d" % self.port)
        lines.append("unix_socket_directories = '%s'" % self.root)
        # postgresql.auto.conf is read last and is ours alone: a new port on
        # each start replaces the old one.
        path = os.path.join(self.data, "postgresql.auto.conf")
        with open(path, "w", encoding="utf-8") as f:
            f.write("# written by tests/functional/pgcluster.py\n" + "\n".join(lines) + "\n")
        if self.user is not None:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)

    def _pg_ctl_start(self):
        self._run(["pg_ctl", "-D", self.data, "-l", self.logfile, "-w", "-t", str(START_TIMEOUT),
                   "start"], START_TIMEOUT + 10)
        self.running = True

    def start(self):
        """initdb, then postgres on a free port (another if a race took it)."""
        self.init()
        for attempt in range(3):
            self.port = _free_port()
            self._configure()
            try:
                self._pg_ctl_start()
                break
            except ClusterError:
                if attempt == 2 or "could not bind" not in self.log_tail(5):
                    raise
        self.query("SELECT 1")

    def server_stop(self):
        if self.running:
            self._run(["pg_ctl", "-D", self.data, "-m", "fast", "-w", "-t", "60", "stop"], 70)
            self.running = False

    def restart(self, pause=0.0):
        """Down (fast shutdown: every connection cut), `pause` seconds, up
        again on the same port. Returns (down, up): time.monotonic() once
        the server was gone and just before it was started again."""
        self.server_stop()
        down = time.monotonic()
        if pause > 0:
            time.sleep(pause)
        up = time.monotonic()
        self._pg_ctl_start()
        return down, up

    def remove(self):
        try:
            self.server_stop()
        except ClusterError:
            # pg_ctl could not stop it: the postmaster's pid is the first line.
            try:
                with open(os.path.join(self.data, "postmaster.pid")) as f:
                    os.kill(int(f.readline()), 9)
                time.sleep(0.5)
            except (OSError, ValueError):
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, db):
        return "postgresql://%s@127.0.0.1:%d/%s" % (SUPERUSER, self.port, db)

    def query(self, sql, db="postgres", timeout=60):
        cmd = [self.psql_bin, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
               "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", db, "-c", sql]
        env = dict(os.environ, PGCONNECT_TIMEOUT="10")
        for k in ("PGPASSWORD", "PGSERVICE", "PGOPTIONS"):
            env.pop(k, None)
        cp = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                            stdin=subprocess.DEVNULL)
        if cp.returncode != 0:
            raise ClusterError("psql -d %s -c %r: %s" % (db, sql, cp.stderr.strip()))
        return cp.stdout.strip()


def _need():
    if _cluster is None:
        raise ClusterError("pgcluster.start() was not called")
    return _cluster


def _check_name(name):
    if not NAME_RE.match(name):
        raise ValueError("database name %r: want [a-z_][a-z0-9_]*, at most 63 bytes" % name)
    return name


def start():
    """Create and start the cluster; returns its port. ClusterError when
    PostgreSQL is not installed or does not start."""
    global _cluster
    if _cluster is not None:
        return _cluster.port
    c = Cluster()
    try:
        c.start()
    except BaseException:
        c.remove()
        raise
    _cluster = c
    atexit.register(stop)
    return c.port


def stop():
    """Stop the cluster (fast shutdown) and remove its directory."""
    global _cluster
    c, _cluster = _cluster, None
    if c is not None:
        c.remove()


def restart(pause=0.0):
    """Stop and start the same cluster (same port, same databases);
    returns (down, up) in time.monotonic(): see Cluster.restart."""
    return _need().restart(pause)


def create_database(name):
    """A new, empty database; returns its libpq URI."""
    c = _need()
    c.query('CREATE DATABASE "%s"' % _check_name(name))
    return c.url(name)


def drop_database(name):
    """Gone, with any sessions still connected to it."""
    c = _need()
    c.query('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % _check_name(name))


def query(sql, db="postgres"):
    return _need().query(sql, _check_name(db))


def port():
    return _need().port


def url(db):
    return _need().url(_check_name(db))


def running():
    return _cluster is not None


def _main(argv):
    """pgcluster.py run CMD...: CMD with MINTRAC_TEST_PG_URL naming a fresh
    database of a throwaway cluster (the unit tests' PostgreSQL cases);
    exits with CMD's status."""
    import sys
    if len(argv) < 3 or argv[1] != "run":
        print("usage: pgcluster.py run CMD...", file=sys.stderr)
        return 2
    try:
        start()
        url = create_database("unit")
    except ClusterError as e:
        print("pgcluster: %s" % e, file=sys.stderr)
        return 1
    try:
        env = dict(os.environ, MINTRAC_TEST_PG_URL=url)
        return subprocess.run(argv[2:], env=env).returncode
    finally:
        stop()


if __name__ == "__main__":
    import sys
    sys.exit(_main(sys.argv))
