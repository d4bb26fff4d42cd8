#!/usr/bin/env python3
"""Many fault runs (run_faults.py) with random seeds, alternating the transports and drawing each
run's fault mix, then one report: runs, operations, faults injected by kind, violations (with the
command that replays each), and runs the harness could not finish.

    /usr/bin/python3 tests/faults/soak.py --runs 200 --out /tmp/keel-faults
"""
import argparse
import collections
import json
import os
import random
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from run_faults import FAULTS  # noqa: E402

TRANSPORTS = ("grpc", "tcp")


def one_run(seed, transport, faults, duration, snapshot_count, out):
    cmd = [sys.executable, os.path.join(HERE, "run_faults.py"), "--seed", str(seed), "--transport", transport,
           "--duration", str(duration), "--faults", ",".join(faults), "--snapshot-count", str(snapshot_count),
           "--out", out]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 600)
    report_path = os.path.join(out, "report-%d.json" % seed)
    report = None
    if os.path.exists(report_path):
        with open(report_path) as f:
            report = json.load(f)
    return p.returncode, report, p.stdout[-3000:] + p.stderr[-3000:]


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--duration", type=float, default=20)
    p.add_argument("--out", default="/tmp/keel-faults")
    p.add_argument("--seed", type=int, default=None, help="seeds the runs' seeds (default: random)")
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    master = args.seed if args.seed is not None else random.SystemRandom().getrandbits(31)
    rng = random.Random(master)
    totals = {"runs": 0, "operations": 0, "faults": collections.Counter(), "faults_not_done": collections.Counter(),
              "watch_events": 0, "violations": [],
              "harness_failures": [], "soak_seed": master, "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    for i in range(args.runs):
        seed = rng.getrandbits(31)
        transport = TRANSPORTS[i % len(TRANSPORTS)]
        faults = rng.sample(FAULTS, rng.randint(1, len(FAULTS)))
        # Half the runs snapshot often, so members catch up (and crash) by snapshot.
        snapshot_count = rng.choice((0, 300))
        code, report, tail = one_run(seed, transport, faults, args.duration, snapshot_count, args.out)
        totals["runs"] += 1
        if report is not None:
            totals["operations"] += report.get("operations", 0)
            totals["faults"].update(report.get("faults", {}))
            totals["faults_not_done"].update(report.get("faults_not_done", {}))
            totals["watch_events"] += report.get("watch", {}).get("events", 0)
        if code == 1:
            totals["violations"].append({"seed": seed, "replay": report["replay"] if report else None})
        elif code != 0:
            totals["harness_failures"].append({"seed": seed, "exit": code, "tail": tail})
        print("run %d/%d seed %d %s snapshot-count %d %s: exit %d" % (
            i + 1, args.runs, seed, transport, snapshot_count, ",".join(faults), code), flush=True)
    totals["faults"] = dict(totals["faults"])
    totals["faults_not_done"] = dict(totals["faults_not_done"])
    totals["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    text = json.dumps(totals, indent=2, sort_keys=True)
    with open(os.path.join(args.out, "soak-report.json"), "w") as f:
        f.write(text + "\n")
    print(text)
    return 0 if not totals["violations"] and not totals["harness_failures"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
