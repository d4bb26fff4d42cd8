"""keel-bench matrix, briefly: fresh members for two backends (and etcd when it is on PATH), two
workloads on each, and the report it writes: markdown with ratios to the baseline, CSV, SVG and
the raw JSON lines; then rows of 3-member clusters, one per transport, loaded through the leader. Checks what the report says, never how fast anything was. And keel-bench
against etcd itself with auth enabled (keel serves no Auth service yet): --user's token on every
kind of call.

Run with /usr/bin/python3; KEEL_BENCH names the binary (keeld is found beside it).
"""
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(__file__))
from keel_harness import free_port  # noqa: E402

KEEL_BENCH = os.environ.get("KEEL_BENCH", "keel-bench")


class Matrix(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="keel-bench-matrix-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def matrix(self, *args):
        out = os.path.join(self.dir, "report")
        cmd = [KEEL_BENCH, "matrix", "--work-dir", os.path.join(self.dir, "data"), "--out", out] + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, 0, "%s\n%s\n%s" % (" ".join(cmd), p.stdout, p.stderr))
        return out, p.stdout

    def test_rows_workloads_and_report(self):
        out, stdout = self.matrix("--backends", "lmdb,leveldb", "--workloads", "put-1,watch-latency",
                                  "--total", "40")
        etcd = shutil.which("etcd") is not None
        rows = (["etcd"] if etcd else []) + ["keel lmdb", "keel leveldb"]
        baseline = rows[0]

        with open(os.path.join(out, "matrix.csv")) as f:
            table = list(csv.DictReader(f))
        self.assertEqual([(r["workload"], r["row"]) for r in table],
                         [(w, r) for w in ("put-1", "watch-latency") for r in rows])
        for r in table:
            self.assertEqual(r["errors"], "0", r)
            self.assertEqual(r["ops"], "40", r)
            self.assertGreater(float(r["throughput"]), 0, r)
            self.assertGreater(float(r["server_peak_rss_mib"]), 0, r)
            if r["row"] == baseline:
                self.assertAlmostEqual(float(r["throughput_ratio"]), 1.0)
                self.assertAlmostEqual(float(r["p99_ratio"]), 1.0)
        watch = [r for r in table if r["workload"] == "watch-latency"]
        for r in watch:
            self.assertEqual(r["events"], str(40 * 100), r)  # 100 watchers saw all 40 puts

        with open(os.path.join(out, "matrix.md")) as f:
            md = f.read()
        self.assertIn("Ratios are to the **%s** row" % baseline, md)
        self.assertIn("machine:", md)
        for r in rows:
            self.assertIn("| put-1 | %s |" % (r if r != baseline else "**%s**" % r), md)
        self.assertIn(md.strip().splitlines()[-1], stdout)

        svg = ET.parse(os.path.join(out, "matrix.svg")).getroot()
        self.assertTrue(svg.tag.endswith("svg"))
        texts = [t.text for t in svg.iter() if t.tag.endswith("text")]
        for r in rows:
            self.assertIn(r, texts)
        self.assertEqual(sum(1 for e in svg.iter() if e.tag.endswith("rect")), 1 + 2 * len(table))

        with open(os.path.join(out, "matrix.jsonl")) as f:
            raw = [json.loads(line) for line in f]
        self.assertEqual(len(raw), len(table))
        self.assertTrue(all("command" in r and "latency_ms" in r for r in raw))

    @unittest.skipUnless(shutil.which("etcdctl"), "needs etcdctl on PATH (it finds the leader)")
    def test_three_member_clusters_over_each_transport(self):
        out, _ = self.matrix("--members", "3", "--backends", "lmdb", "--transports", "grpc,tcp",
                             "--workloads", "put-1", "--total", "20")
        rows = (["etcd"] if shutil.which("etcd") else []) + ["keel lmdb/grpc", "keel lmdb/tcp"]
        with open(os.path.join(out, "matrix.csv")) as f:
            table = list(csv.DictReader(f))
        self.assertEqual([r["row"] for r in table], rows)
        for r in table:
            self.assertEqual(r["errors"], "0", r)
            self.assertEqual(r["ops"], "20", r)
        with open(os.path.join(out, "matrix.jsonl")) as f:
            raw = [json.loads(line) for line in f]
        for r in raw:
            self.assertEqual(r["members"], 3, r)
            self.assertIn(r["leader"], ("bench0", "bench1", "bench2"), r)
            # The load went to the leader, and every member's CPU was counted.
            self.assertEqual(len(r["command"].split("--server-pid ")[1].split()[0].split(",")), 3, r)
        with open(os.path.join(out, "matrix.md")) as f:
            self.assertIn("members: 3 per row", f.read())
        for slug in ["keel-lmdb-grpc-simple", "keel-lmdb-tcp-simple"]:
            for i in range(3):
                self.assertTrue(os.path.isdir(os.path.join(self.dir, "data", slug, "bench%d" % i, "data")), slug)

    def test_a_chosen_baseline_and_bad_choices(self):
        out, _ = self.matrix("--backends", "lmdb,leveldb", "--workloads", "put-1", "--total", "20",
                             "--etcd", "off", "--baseline", "keel leveldb")
        with open(os.path.join(out, "matrix.csv")) as f:
            table = {r["row"]: r for r in csv.DictReader(f)}
        self.assertEqual(set(table), {"keel lmdb", "keel leveldb"})
        self.assertAlmostEqual(float(table["keel leveldb"]["throughput_ratio"]), 1.0)
        for args, says in ((["--workloads", "fly"], "unknown workload"),
                           (["--baseline", "nosuch", "--etcd", "off"], "is not a row")):
            p = subprocess.run([KEEL_BENCH, "matrix", "--out", os.path.join(self.dir, "x")] + args,
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn(says, p.stderr)


@unittest.skipUnless(shutil.which("etcd") and shutil.which("etcdctl"), "needs etcd and etcdctl on PATH")
class AgainstEtcdWithAuth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="keel-bench-etcd-")
        client, peer = "http://127.0.0.1:%d" % free_port(), "http://127.0.0.1:%d" % free_port()
        cls.endpoint = client[len("http://"):]
        cls.log = open(os.path.join(cls.dir, "etcd.log"), "w")
        cls.etcd = subprocess.Popen(
            ["etcd", "--name", "b", "--data-dir", os.path.join(cls.dir, "data"), "--listen-client-urls", client,
             "--advertise-client-urls", client, "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
             "--initial-cluster", "b=" + peer], stdout=cls.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while cls.ctl("endpoint", "health", check=False).returncode != 0:
            assert time.monotonic() < deadline, "etcd did not start"
            time.sleep(0.2)
        cls.ctl("user", "add", "root:rootpw")
        cls.ctl("role", "add", "root", check=False)  # 3.4 makes the root role with the user
        cls.ctl("user", "grant-role", "root", "root")
        cls.ctl("auth", "enable")

    @classmethod
    def tearDownClass(cls):
        cls.etcd.send_signal(signal.SIGTERM)
        cls.etcd.wait(30)
        cls.log.close()
        shutil.rmtree(cls.dir, True)

    @classmethod
    def ctl(cls, *args, check=True):
        p = subprocess.run(["etcdctl", "--endpoints", cls.endpoint] + (["--user", "root:rootpw"] if args[0] != "user" or
                           args[1] != "add" else []) + list(args), capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, ETCDCTL_API="3"))
        if check:
            assert p.returncode == 0, "etcdctl %s: %s%s" % (" ".join(args), p.stdout, p.stderr)
        return p

    def bench(self, *args):
        p = subprocess.run([KEEL_BENCH, "--endpoints", self.endpoint, "--output", "json"] + list(args),
                           capture_output=True, text=True, timeout=120)
        return p.returncode, json.loads(p.stdout.strip().splitlines()[-1])

    def test_every_workload_with_a_token(self):
        for args in (["put", "--total", "100", "--clients", "4", "--sequential-keys", "--key-space-size", "100",
                      "--key-prefix", "ea/", "--key-size", "8"],
                     ["range", "--consistency", "l", "--prefill", "--total", "50", "--key-space-size", "20"],
                     ["txn-put", "--total", "20"],
                     ["watch-latency", "--total", "20", "--rate", "200", "--streams", "2"],
                     ["lease-keepalive", "--total", "40", "--clients", "2"]):
            with self.subTest(workload=args[0]):
                rc, r = self.bench("--user", "root:rootpw", *args)
                self.assertEqual(rc, 0, r)
                self.assertEqual(r["errors"], 0, r)
                self.assertEqual(r["ops"], int(args[args.index("--total") + 1]), r)
        out = self.ctl("get", "ea/", "--prefix", "--limit", "1", "-w", "json").stdout
        self.assertEqual(json.loads(out)["count"], 100)

    def test_without_or_with_a_bad_user(self):
        rc, r = self.bench("put", "--total", "5")
        self.assertEqual(rc, 1)
        self.assertEqual(r["errors"], 5, r)
        self.assertIn("user name is empty", " ".join(r["error_texts"]), r)
        rc, r = self.bench("--user", "root:wrong", "put", "--total", "5")
        self.assertEqual(rc, 1)
        self.assertIn("authentication failed", r["fatal"], r)


if __name__ == "__main__":
    unittest.main()
