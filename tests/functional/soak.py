#!/usr/bin/env python3
"""RSS soak: mixed requests in every phone app's format, good and bad, sent
to the receiver on pipelined keep-alive connections in four equal phases;
the receiver's RSS (VmRSS of the pid in DATADIR/receiver.pid) is read after
each phase. It must stay flat: after the last phase within SOAK_RSS_PCT %
(default 5) of after the first, which is when caches and pools are warm.

Each cycle of requests per connection: OsmAnd, Traccar (query and Traccar
Client JSON), GPSLogger, OwnTracks, Overland (3 fixes), μlogger addpos, and
the bad ones: a latitude out of range (400), malformed JSON (400), an
unknown token (401), an unknown path (404), an OwnTracks non-location
message (200, nothing stored). Every reply's status is checked against
what that request must get; every fix has its own time.

Used by test_soak.py (a CI-sized run) and by `make stress` (2 million
requests against build/mintrac):
  MINTRAC_BIN=build/mintrac python3 tests/functional/soak.py [REQUESTS]
"""
import base64
import json
import multiprocessing
import os
import re
import socket
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Mintrac  # noqa: E402

USER, PASSWORD = "soak", "soak-password"
BASE_S = 1714557600            # 2024-05-01T10:00:00Z
BLOCK_S = 10 ** 6              # seconds of fix times per worker and phase
CYCLE_FIXES = 9                # fixes a good cycle stores at most
PHASES = 4
_HEAD_END = re.compile(rb"\r\n\r\n")
_CLEN = re.compile(rb"\r\n[Cc]ontent-[Ll]ength: *(\d+)")


def iso(s):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(s))


def req(method, target, headers=(), body=b""):
    h = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n" % (method, target)
    for k, v in headers:
        h += "%s: %s\r\n" % (k, v)
    if body or method == "POST":
        h += "Content-Length: %d\r\n" % len(body)
    return h.encode() + b"\r\n" + body


def cycle(token, cookie, t):
    """One cycle of requests with fix times from t (seconds): [(bytes, status)]."""
    lat, lon = 48.1 + (t % 1000) * 1e-5, 11.5
    basic = "Basic " + base64.b64encode(("%s:%s" % (USER, token)).encode()).decode()
    q = urllib.parse.urlencode
    out = [
        (req("GET", "/osmand?" + q({"token": token, "lat": lat, "lon": lon, "timestamp": t * 1000,
                                     "hdop": 5, "speed": 1.5, "batproc": 80})), 200),
        (req("POST", "/?" + q({"id": token, "timestamp": t + 1, "lat": lat, "lon": lon,
                               "speed": 3, "batt": 87})), 200),
        (req("POST", "/", [("Content-Type", "application/json")], json.dumps(
            {"device_id": token, "location": {"timestamp": iso(t + 2), "coords": {
                "latitude": lat, "longitude": lon, "accuracy": 5, "speed": 1, "heading": 90},
                "battery": {"level": 0.5}, "is_moving": True}}).encode()), 200),
        (req("GET", "/gpslogger?" + q({"token": token, "lat": lat, "lon": lon, "time": t + 3,
                                        "acc": 4, "spd": 2})), 200),
        (req("POST", "/owntracks", [("Content-Type", "application/json"), ("Authorization", basic)],
             json.dumps({"_type": "location", "lat": lat, "lon": lon, "tst": t + 4, "acc": 8,
                         "vel": 5, "batt": 70, "tid": "sk"}).encode()), 200),
        (req("POST", "/overland", [("Content-Type", "application/json"),
                                   ("Authorization", "Bearer " + token)], json.dumps(
            {"locations": [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                            "properties": {"timestamp": iso(t + 5 + i), "speed": 2,
                                           "horizontal_accuracy": 5, "battery_level": 0.6}}
                           for i in range(3)]}).encode()), 200),
        (req("POST", "/client/index.php", [("Content-Type", "application/x-www-form-urlencoded"),
                                           ("Cookie", cookie)],
             q({"action": "addpos", "trackid": 1, "lat": lat, "lon": lon, "time": t + 8,
                "accuracy": 4}).encode()), 200),
        # The bad ones.
        (req("GET", "/osmand?" + q({"token": token, "lat": 91.5, "lon": lon, "timestamp": t * 1000})), 400),
        (req("POST", "/overland", [("Content-Type", "application/json"),
                                   ("Authorization", "Bearer " + token)], b'{"locations": [{"type":'), 400),
        (req("GET", "/osmand?" + q({"token": "x" * 24, "lat": lat, "lon": lon, "timestamp": t * 1000})), 401),
        (req("GET", "/nowhere?token=" + token), 404),
        (req("POST", "/owntracks", [("Content-Type", "application/json"), ("Authorization", basic)],
             b'{"_type":"transition","event":"enter","lat":48.1,"lon":11.5,"tst":1714557600}'), 200),
    ]
    return out


def read_replies(sock, n, buf):
    """Reads n replies; returns (statuses, leftover bytes)."""
    got = []
    while len(got) < n:
        m = _HEAD_END.search(buf)
        if m:
            head = buf[:m.end()]
            cl = _CLEN.search(head)
            total = m.end() + (int(cl.group(1)) if cl else 0)
            if len(buf) >= total:
                got.append(int(buf[9:12]))
                buf = buf[total:]
                continue
        chunk = sock.recv(262144)
        if not chunk:
            raise ConnectionError("receiver closed the connection after %d of %d replies" % (len(got), n))
        buf += chunk
    return got, buf


def login(port, token):
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(req("POST", "/client/index.php", [("Content-Type", "application/x-www-form-urlencoded")],
                      urllib.parse.urlencode({"action": "auth", "user": USER, "pass": token}).encode()))
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    m = re.search(rb"[Ss]et-[Cc]ookie: *([^;\r\n]+)", data)
    if not m:
        raise AssertionError("μlogger auth set no cookie: %r" % data[:300])
    return m.group(1).decode()


def worker(args):
    """One connection sending `requests` requests in cycles; returns
    (requests sent, {status: n}, mismatches as (sent index, want, got))."""
    port, token, cookie, t0, requests = args
    stats, bad = {}, []
    sent = 0
    t = t0
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    try:
        buf = b""
        while sent < requests:
            c = cycle(token, cookie, t)[:requests - sent]
            t += CYCLE_FIXES + 1
            sock.sendall(b"".join(r for r, _ in c))
            got, buf = read_replies(sock, len(c), buf)
            for i, ((_, want), st) in enumerate(zip(c, got)):
                stats[st] = stats.get(st, 0) + 1
                if st != want and len(bad) < 10:
                    bad.append((sent + i, want, st))
            sent += len(c)
    finally:
        sock.close()
    return sent, stats, bad


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def receiver_pid(m):
    with open(os.path.join(m.datadir, "receiver.pid")) as f:
        return int(f.read())


def soak(m, token, requests, connections=8, log=None):
    """Runs the soak against m (running). Returns a dict: rss (KiB after
    each phase), statuses, mismatches, seconds, requests."""
    cookie = login(m.rport, token)
    pid = receiver_pid(m)
    per_phase = requests // PHASES
    res = {"rss": [], "statuses": {}, "mismatches": [], "requests": 0}
    t_start = time.monotonic()
    block = 0
    # Ended by close() and join(), not by the with-statement's terminate():
    # that one SIGTERMs the workers, and under run.py --backend postgresql
    # (SIGTERM has a Python handler there, inherited by the workers) a
    # worker now and then outlived it and the test hung in the join.
    pool = multiprocessing.get_context("fork").Pool(min(connections, os.cpu_count() or 1) * 2)
    try:
        for phase in range(PHASES):
            jobs = []
            for w in range(connections):
                n = per_phase // connections + (1 if w < per_phase % connections else 0)
                jobs.append((m.rport, token, cookie, BASE_S + block * BLOCK_S, n))
                block += 1
            for sent, stats, bad in pool.imap_unordered(worker, jobs):
                res["requests"] += sent
                for k, v in stats.items():
                    res["statuses"][k] = res["statuses"].get(k, 0) + v
                res["mismatches"] += bad
            res["rss"].append(rss_kib(pid))
            if log:
                log("phase %d: %d requests, receiver RSS %d KiB, %.0f s" % (
                    phase + 1, res["requests"], res["rss"][-1], time.monotonic() - t_start))
        pool.close()
        pool.join()
    finally:
        pool.terminate()
    res["seconds"] = time.monotonic() - t_start
    return res


def rss_growth_pct(rss):
    return 100.0 * (rss[-1] - rss[0]) / rss[0]


def main():
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 2000000
    limit = float(os.environ.get("SOAK_RSS_PCT", "5"))
    m = Mintrac()
    try:
        m.add_user(USER, PASSWORD)
        token = m.add_device(USER, "phone")["token"]
        m.run()
        res = soak(m, token, requests, log=lambda s: print(s, flush=True))
        growth = rss_growth_pct(res["rss"])
        print("soak: %d requests in %.0f s (%.0f/s), statuses %r, RSS after each quarter %s KiB, "
              "growth %.1f%% (limit %.0f%%)" % (res["requests"], res["seconds"],
                                                  res["requests"] / res["seconds"], res["statuses"],
                                                  res["rss"], growth, limit))
        problem = m.stop_checked()
        ok = not res["mismatches"] and growth <= limit and not problem
        if res["mismatches"]:
            print("soak: unexpected statuses (request, want, got): %r" % res["mismatches"][:10])
        if problem:
            print("soak: %s" % problem)
        print("soak: %s" % ("ok" if ok else "FAILED"))
        return 0 if ok else 1
    finally:
        m.close()


if __name__ == "__main__":
    sys.exit(main())
