#!/usr/bin/env python3
"""Run the functional tests: tests/functional/test_*.py against MINTRAC_BIN.

usage: MINTRAC_BIN=build/asan/mintrac python3 tests/functional/run.py
           [--backend sqlite|postgresql] [-k PATTERN]...
--backend postgresql starts one throwaway cluster (pgcluster.py) for the run
and gives every Mintrac a database of its own.
Last line: "functional: N passed, N failed[, N skipped]" ("functional-postgresql: ..."
for --backend postgresql); exit 1 on any failure.
"""
import argparse
import faulthandler
import os
import signal
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
# No test may take longer than this (seconds): one that hangs fails with
# where every thread was, and the run goes on, so CI reports the hang
# instead of running out of time.
TEST_TIMEOUT = int(os.environ.get("MINTRAC_TEST_TIMEOUT", "600"))


MAIN_PID = os.getpid()


class TestTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    # Where the tests' processes are: this one's threads here, and any
    # forked helper (inherits faulthandler's SIGUSR1 handler) on its stderr.
    sys.stdout.flush()
    faulthandler.dump_traceback(file=sys.stdout, all_threads=True)
    raise TestTimeout("the test ran longer than %d s (MINTRAC_TEST_TIMEOUT)" % TEST_TIMEOUT)


class CountingResult(unittest.TextTestResult):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.successes = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.successes += 1

    # The bound is armed per test: SIGALRM interrupts whatever the test
    # waits for in the main thread, and unittest records the exception as
    # that test's error, then runs its cleanups (which stop its servers).
    def startTest(self, test):
        super().startTest(test)
        signal.alarm(TEST_TIMEOUT)

    def stopTest(self, test):
        signal.alarm(0)
        super().stopTest(test)


def _term_main_only(signum, frame):
    """SIGTERM in this process: KeyboardInterrupt, so the run unwinds and
    stops its cluster. A process forked from it (soak.py's pool) inherits
    the handler but has no cluster to stop: it dies by the default action."""
    if os.getpid() != MAIN_PID:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        return
    raise KeyboardInterrupt


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", dest="patterns", action="append", default=[],
                    help="only tests whose id contains this substring or matches this fnmatch pattern")
    ap.add_argument("-f", "--failfast", action="store_true")
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite",
                    help="the store every test's mintrac uses (default sqlite)")
    args = ap.parse_args()
    if not os.environ.get("MINTRAC_BIN"):
        print("MINTRAC_BIN is not set", file=sys.stderr)
        return 2
    os.environ["MINTRAC_BIN"] = os.path.abspath(os.environ["MINTRAC_BIN"])
    # Read by harness.py when the tests import it.
    os.environ["MINTRAC_TEST_BACKEND"] = args.backend
    sys.path.insert(0, HERE)
    stage = "functional" if args.backend == "sqlite" else "functional-" + args.backend
    if args.backend == "sqlite":
        return run(args, stage)
    import pgcluster
    # A SIGTERM (CI timeouts) ends the run as Ctrl-C does: unittest passes
    # KeyboardInterrupt on (it would record SystemExit as a test error and
    # go on), and the cluster still goes on the way out.
    signal.signal(signal.SIGTERM, _term_main_only)
    try:
        port = pgcluster.start()
    except pgcluster.ClusterError as e:
        print("%s: cannot start PostgreSQL: %s" % (stage, e))
        print("%s: 0 passed, 1 failed" % stage)
        return 1
    print("%s: PostgreSQL cluster on 127.0.0.1:%d" % (stage, port))
    try:
        return run(args, stage)
    finally:
        pgcluster.stop()


def run(args, stage) -> int:
    signal.signal(signal.SIGALRM, _on_alarm)
    faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)
    loader = unittest.TestLoader()
    if args.patterns:
        # unittest's -k semantics: substring, or fnmatch when it has wildcards
        loader.testNamePatterns = [p if "*" in p else "*%s*" % p for p in args.patterns]
    suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    runner = unittest.TextTestRunner(verbosity=2, failfast=args.failfast, stream=sys.stdout,
                                     resultclass=CountingResult)
    res = runner.run(suite)
    # A setUpClass error is one entry in res.errors but no test in testsRun:
    # count successes directly so "passed" never goes below what really passed.
    # Count failed tests, not failed subtests, so passed + failed + skipped = run.
    bad = {getattr(t, "test_case", t).id() for t, _ in res.failures + res.errors}
    failed = len(bad) + len(res.unexpectedSuccesses)
    skipped = len(res.skipped)
    passed = res.successes
    line = "%s: %d passed, %d failed" % (stage, passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    sys.stdout.flush()
    print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
