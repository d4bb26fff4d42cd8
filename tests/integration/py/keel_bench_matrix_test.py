"""keel-bench matrix, briefly: fresh members for two backends (and etcd when it is on PATH), two
workloads on each, and the report it writes: markdown with ratios to the baseline, CSV, SVG and
the raw JSON lines. Checks what the report says, never how fast anything was.

Run with /usr/bin/python3; KEEL_BENCH names the binary (keeld is found beside it).
"""
import csv
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET

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


if __name__ == "__main__":
    unittest.main()
