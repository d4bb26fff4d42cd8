"""keel-bench against a real keeld: every workload for a few hundred operations, checked on the
JSON line it prints (operations done as asked, no errors) and on the member itself with etcdctl
(the keys were really written, the leases revoked). No timing is asserted.

Run with /usr/bin/python3; KEELD and KEEL_BENCH name the binaries, KEEL_BACKEND the backend.
"""
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from keel_harness import MemberTestCase  # noqa: E402

KEEL_BENCH = os.environ.get("KEEL_BENCH", "keel-bench")


class KeelBench(MemberTestCase):
    def bench(self, *args, expect_rc=0):
        cmd = [KEEL_BENCH, "--endpoints", self.k.endpoint, "--server-pid", str(self.k.proc.pid),
               "--output", "json", "--dial-timeout", "10"] + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, expect_rc, "%s\nstdout: %s\nstderr: %s\nkeeld log:\n%s" % (
            " ".join(cmd), p.stdout, p.stderr, self.k.log()[-3000:]))
        lines = p.stdout.strip().splitlines()
        self.assertTrue(lines, p.stderr)
        return json.loads(lines[-1])

    def count(self, prefix):
        """Keys under `prefix`, as the member counts them (etcdctl 3.4 has no --count-only)."""
        out = self.k.etcdctl("get", prefix, "--prefix", "--limit", "1", "-w", "json")[1]
        return int(json.loads(out).get("count", 0))

    def assert_clean(self, r, ops):
        self.assertEqual(r["ops"], ops, r)
        self.assertEqual(r["errors"], 0, r)
        self.assertEqual(r["error_texts"], {}, r)
        self.assertNotIn("fatal", r)
        self.assertEqual(r["latency_ms"]["count"], ops if "events" not in r else r["events"], r)
        self.assertGreater(r["seconds"], 0, r)
        self.assertGreater(r["throughput"], 0, r)
        lat = r["latency_ms"]
        self.assertLessEqual(lat["p50"], lat["p90"])
        self.assertLessEqual(lat["p90"], lat["p99"])
        self.assertLessEqual(lat["p99"], lat["p999"])
        self.assertLessEqual(lat["p999"], lat["max"])
        # The member's own costs, read from /proc for its pid.
        self.assertGreaterEqual(r["server_cpu_s"], 0, r)
        self.assertGreater(r["server_peak_rss_bytes"], 0, r)
        self.assertGreaterEqual(r["harness_cpu_s"], 0, r)

    def test_put_writes_every_key(self):
        r = self.bench("put", "--total", "500", "--clients", "8", "--conns", "2", "--sequential-keys",
                       "--key-space-size", "500", "--key-prefix", "kb/put/", "--key-size", "16")
        self.assert_clean(r, 500)
        self.assertEqual(r["workload"], "put")
        self.assertEqual(self.count("kb/put/"), 500)

    def test_put_for_a_duration_at_a_rate(self):
        r = self.bench("put", "--duration", "1", "--rate", "200", "--clients", "4",
                       "--key-prefix", "kb/rate/", "--key-size", "16", "--key-space-size", "100000")
        self.assertEqual(r["errors"], 0, r)
        # The schedule holds operations 0..199 (op i starts at i / 200 s); how many of them got
        # done in the second depends on the machine, which is not asserted.
        self.assertGreater(r["ops"], 0, r)
        self.assertLessEqual(r["ops"], 200, r)
        self.assertLessEqual(self.count("kb/rate/"), r["ops"])
        self.assertGreater(self.count("kb/rate/"), 0)

    def test_range_linearizable_and_serializable_after_prefill(self):
        for consistency in ("l", "s"):
            with self.subTest(consistency=consistency):
                r = self.bench("range", "--consistency", consistency, "--prefill", "--total", "400",
                               "--clients", "8", "--conns", "2", "--key-space-size", "64",
                               "--key-prefix", "kb/range/", "--key-size", "16")
                self.assert_clean(r, 400)
                self.assertEqual(r["consistency"], consistency)
        self.assertEqual(self.count("kb/range/"), 64)  # the prefill wrote them all

    def test_txn_put(self):
        r = self.bench("txn-put", "--txn-ops", "4", "--total", "100", "--clients", "4",
                       "--sequential-keys", "--key-space-size", "400", "--key-prefix", "kb/txn/",
                       "--key-size", "16")
        self.assert_clean(r, 100)
        # Txn i puts keys i..i+3: keys 0 to 102.
        self.assertEqual(self.count("kb/txn/"), 103)

    def test_mixed(self):
        r = self.bench("mixed", "--read-ratio", "0.5", "--total", "400", "--clients", "8",
                       "--key-prefix", "kb/mix/", "--key-size", "16", "--key-space-size", "50")
        self.assert_clean(r, 400)
        reads, writes = r["range_latency_ms"]["count"], r["put_latency_ms"]["count"]
        self.assertEqual(reads + writes, 400, r)
        self.assertGreater(reads, 0, r)
        self.assertGreater(writes, 0, r)
        self.assertGreater(self.count("kb/mix/"), 0)

    def test_watch_latency(self):
        r = self.bench("watch-latency", "--total", "50", "--rate", "200", "--streams", "3",
                       "--watchers-per-stream", "2", "--key-prefix", "kb/wl/", "--key-size", "16")
        self.assert_clean(r, 50)
        self.assertEqual(r["watchers"], 6)
        self.assertEqual(r["events_expected"], 300)
        self.assertEqual(r["events"], 300)
        self.assertEqual(r["put_latency_ms"]["count"], 50)
        self.assertEqual(self.count("kb/wl/"), 1)  # every put on the one watched key

    def test_watch_fanout(self):
        r = self.bench("watch-fanout", "--total", "50", "--streams", "4", "--watchers-per-stream", "5",
                       "--conns", "2", "--key-prefix", "kb/wf/", "--key-size", "16")
        self.assert_clean(r, 50)
        self.assertEqual(r["watchers"], 20)
        self.assertEqual(r["events"], 1000)
        self.assertEqual(r["events_expected"], 1000)

    def test_lease_keepalive_revokes_its_leases(self):
        r = self.bench("lease-keepalive", "--total", "200", "--clients", "4", "--conns", "2")
        self.assert_clean(r, 200)
        self.assertIn("found 0 leases", self.k.etcdctl("lease", "list")[1])

    def test_table_output(self):
        cmd = [KEEL_BENCH, "--endpoints", self.k.endpoint, "put", "--total", "20", "--output", "table",
               "--key-prefix", "kb/tab/", "--key-size", "16"]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        for word in ("throughput", "p99.9", "20 ok, 0 failed", "keel-bench"):
            self.assertIn(word, p.stdout)
        self.assertNotIn("{", p.stdout)
        self.assertEqual(p.stderr, "")  # no progress bar: stderr is not a terminal

    def test_bad_options_and_unreachable_servers(self):
        p = subprocess.run([KEEL_BENCH, "put", "--clients", "0"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--clients", p.stderr)
        p = subprocess.run([KEEL_BENCH, "--endpoints", "127.0.0.1:1", "--dial-timeout", "0.5",
                            "--output", "json", "put"], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1)
        r = json.loads(p.stdout.strip().splitlines()[-1])
        self.assertIn("cannot connect to 127.0.0.1:1", r["fatal"])
        self.assertEqual(r["ops"], 0)


if __name__ == "__main__":
    unittest.main()
