"""Regression tests from the review of the server lifecycle."""
import os
import subprocess
import unittest

from harness import Mintrac, free_port
from test_lifecycle import pid_alive


class TestStalePidfile(unittest.TestCase):
    def test_pidfile_naming_another_program(self):
        """After a crash or power cut the pidfiles remain, and their pids may
        by now belong to some other program: that is no running mintrac.
        `stop` must not signal it, `start` must not refuse."""
        m = Mintrac()
        self.addCleanup(m.close)
        other = subprocess.Popen(["sleep", "60"])
        self.addCleanup(other.wait)
        self.addCleanup(other.kill)
        for name in ("mintrac", "receiver", "webapp"):
            with open(os.path.join(m.datadir, name + ".pid"), "w") as f:
                f.write("%d\n" % other.pid)
        cp = m.cli("status", check=False)
        self.assertNotEqual(cp.returncode, 0, "status calls another program mintrac: %r" % cp.stdout)
        m.cli("stop", check=False)
        self.assertIsNone(other.poll(), "stop signalled a process that is not mintrac")
        self.assertTrue(pid_alive(other.pid))
        rport, wport = free_port(), free_port()
        cp = m.cli("start", "--receiver-listen", "127.0.0.1:%d" % rport,
                   "--webapp-listen", "127.0.0.1:%d" % wport, check=False)
        self.assertEqual(cp.returncode, 0, "start refused: %r" % cp.stderr)
        self.assertEqual(m.cli("stop", check=False).returncode, 0)
        self.assertIsNone(other.poll())


if __name__ == "__main__":
    unittest.main()
