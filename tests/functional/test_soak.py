"""RSS soak, CI-sized: the mixed requests of soak.py (every app's format,
good and bad, pipelined on keep-alive connections) after a warm-up, in four
phases; the receiver's RSS after the last phase must be within
SOAK_RSS_PCT % (default 5) of after the first. `make stress` runs the same
with 2 million requests against the optimised binary.

Under ASan freed memory sits in a quarantine (256 MiB by default) that
grows RSS whatever the program does, so the servers run with a small one.
"""
import os
import unittest

from soak import PASSWORD, USER, rss_growth_pct, soak
from test_faults import FaultMintrac

REQUESTS = int(os.environ.get("MINTRAC_SOAK_REQUESTS", "16000"))
WARMUP = int(os.environ.get("MINTRAC_SOAK_WARMUP", "30000"))
LIMIT_PCT = float(os.environ.get("SOAK_RSS_PCT", "5"))


class TestSoak(unittest.TestCase):
    def test_rss_flat_over_mixed_requests(self):
        m = FaultMintrac()
        self.addCleanup(m.close)
        m.add_user(USER, PASSWORD)
        token = m.add_device(USER, "phone")["token"]
        asan = os.environ.get("ASAN_OPTIONS", "")
        m.run_limited(None, env={"ASAN_OPTIONS": (asan + ":" if asan else "") + "quarantine_size_mb=1"})
        warm = soak(m, token, WARMUP, connections=4)
        self.assertEqual(warm["mismatches"], [], "unexpected statuses during the warm-up "
                         "(request, want, got)")
        res = soak(m, token, REQUESTS, connections=4)
        self.assertEqual(res["mismatches"], [], "unexpected statuses (request, want, got)")
        self.assertEqual(res["requests"], REQUESTS)
        growth = rss_growth_pct(res["rss"])
        print("  [%d requests after %d of warm-up in %.1f s, statuses %r, receiver RSS after each "
              "quarter %s KiB: %+.1f%%]" % (res["requests"], WARMUP, res["seconds"], res["statuses"],
                                             res["rss"], growth))
        self.assertLessEqual(growth, LIMIT_PCT, "receiver RSS grew from %d to %d KiB over %d requests"
                             % (res["rss"][0], res["rss"][-1], REQUESTS))
        problem = m.stop_checked()
        self.assertEqual(problem, "", problem)


if __name__ == "__main__":
    unittest.main()
