"""keeld's failpoints (docs/failpoints.md) in a real process: a term that does not parse stops
keeld before it starts; KEEL_FAILPOINTS crashes it where it says; the file named by
KEEL_FAILPOINTS_FILE switches one on while it serves; and after such a crash every acknowledged
write is there.
"""
import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from keel_harness import Keeld  # noqa: E402

import etcd3  # noqa: E402

BACKEND = os.environ.get("KEEL_BACKEND", "lmdb")


def wait_exit(member, timeout=60):
    return member.proc.wait(timeout=timeout)


class FailpointTest(unittest.TestCase):
    def setUp(self):
        self.k = Keeld(BACKEND)

    def tearDown(self):
        self.k.close()

    def test_a_bad_term_stops_keeld_before_it_starts(self):
        self.k.env["KEEL_FAILPOINTS"] = "raftBeforeSave=explode"
        self.k.launch()
        self.assertEqual(wait_exit(self.k), 2)
        self.assertIn("KEEL_FAILPOINTS: failpoint raftBeforeSave=explode: the action must be panic, sleep(ms), "
                      "drop or off", self.k.log())
        self.assertFalse(os.path.exists(os.path.join(self.k.data_dir, "member-data")),
                         "keeld touched the data dir before refusing")
        self.k.env["KEEL_FAILPOINTS"] = "raftBeforeSaev=panic"
        self.k.launch()
        self.assertEqual(wait_exit(self.k), 2)
        self.assertIn("no failpoint is named raftBeforeSaev", self.k.log())

    def test_a_panic_at_start_kills_keeld_and_a_restart_without_it_serves(self):
        # The first WAL save comes as the member elects itself.
        self.k.env["KEEL_FAILPOINTS"] = "raftAfterSave=1*panic"
        self.k.launch()
        self.assertEqual(wait_exit(self.k), -signal.SIGKILL)
        self.assertIn("failpoint raftAfterSave: panic", self.k.log())
        del self.k.env["KEEL_FAILPOINTS"]
        self.k.start()
        self.k.etcdctl("put", "after", "crash")
        self.assertEqual(self.k.etcdctl("get", "after", "--print-value-only")[1].strip(), "crash")

    def test_the_file_switches_a_crash_on_while_keeld_serves_and_no_acknowledged_write_is_lost(self):
        path = os.path.join(self.k.data_dir, "failpoints")
        self.k.env["KEEL_FAILPOINTS_FILE"] = path
        self.k.start()
        client = etcd3.client(host="127.0.0.1", port=self.k.client_port, timeout=10)
        try:
            acked = []
            for i in range(20):
                client.put("before/%d" % i, "v%d" % i)
                acked.append(("before/%d" % i, "v%d" % i))
            with open(path + ".tmp", "w") as f:
                f.write("# the next Backend commit kills the member\nbeforeCommit=panic\n")
            os.replace(path + ".tmp", path)
            # Writes until the member dies: each acknowledged one must survive.
            for i in range(100000):
                try:
                    client.put("during/%d" % i, "v%d" % i)
                except Exception:
                    break
                acked.append(("during/%d" % i, "v%d" % i))
                if self.k.proc.poll() is not None:
                    break
        finally:
            client.close()
        self.assertEqual(wait_exit(self.k), -signal.SIGKILL)
        self.assertIn("failpoint beforeCommit: panic", self.k.log())
        self.assertIn("failpoints from %s: beforeCommit=panic" % path, self.k.log())
        os.remove(path)
        self.k.start()
        client = etcd3.client(host="127.0.0.1", port=self.k.client_port, timeout=10)
        try:
            for key, value in acked:
                got, _ = client.get(key)
                self.assertEqual(got, value.encode(), key)
        finally:
            client.close()


if __name__ == "__main__":
    unittest.main()
