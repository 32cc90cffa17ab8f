#!/usr/bin/env python3
"""Run the functional tests: tests/functional/test_*.py against MINTRAC_BIN.

usage: MINTRAC_BIN=build/asan/mintrac python3 tests/functional/run.py [-k PATTERN]...
Last line: "functional: N passed, N failed[, N skipped]"; exit 1 on any failure.
"""
import argparse
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


class CountingResult(unittest.TextTestResult):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.successes = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.successes += 1


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", dest="patterns", action="append", default=[],
                    help="only tests whose id contains this substring or matches this fnmatch pattern")
    ap.add_argument("-f", "--failfast", action="store_true")
    args = ap.parse_args()
    if not os.environ.get("MINTRAC_BIN"):
        print("MINTRAC_BIN is not set", file=sys.stderr)
        return 2
    os.environ["MINTRAC_BIN"] = os.path.abspath(os.environ["MINTRAC_BIN"])
    sys.path.insert(0, HERE)
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
    line = "functional: %d passed, %d failed" % (passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    sys.stdout.flush()
    print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
