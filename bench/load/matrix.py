#!/usr/bin/env python3
"""keel-bench matrix: fresh servers for every engine combination, every workload on each, and a
report: a markdown table with ratios to a baseline row, a CSV, an SVG chart, and the raw JSON lines.

Run as `keel-bench matrix [options]` (keel-bench hands this script its own path as --keel-bench).
Each row is a new member in a new data dir under --work-dir, on free loopback ports, stopped
before the next row starts, so rows never share a disk cache warmed by another or a CPU. When
an `etcd` binary is found (Debian's etcd-server), it is a row too, with the settings keel's rows
get: the same data disk (--work-dir), the same fsync policy, the same snapshot count.

With --members N (N > 1) a row is a cluster of N members on loopback, started as etcd's members
are (the whole --initial-cluster, --initial-cluster-state new, one --initial-cluster-token), each
in its own data dir; keel's members talk over the row's transport, so the transport dimension
means something. The load goes to the leader's client URL (as clients that want the fewest hops
do), and the server CPU and peak RSS are all members' together.

Only the Python standard library: it runs under Debian's /usr/bin/python3.
"""
import argparse
import csv
import datetime
import io
import itertools
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from xml.sax.saxutils import escape

# Workload presets: name -> (what it is, keel-bench arguments). 100 clients share 10 connections:
# on a 2-core machine more connections only add context switches.
PRESETS = {
    "put-1": ("put, 1 client", ["put", "--clients", "1", "--conns", "1"]),
    "put-100": ("put, 100 clients", ["put", "--clients", "100", "--conns", "10"]),
    "range-l-100": ("linearizable range, 100 clients",
                    ["range", "--consistency", "l", "--prefill", "--key-space-size", "1000",
                     "--clients", "100", "--conns", "10"]),
    "range-s-100": ("serializable range, 100 clients",
                    ["range", "--consistency", "s", "--prefill", "--key-space-size", "1000",
                     "--clients", "100", "--conns", "10"]),
    "txn-put-100": ("txn of one put, 100 clients", ["txn-put", "--clients", "100", "--conns", "10"]),
    "mixed-100": ("90% range / 10% put, 100 clients",
                  ["mixed", "--read-ratio", "0.9", "--key-space-size", "1000", "--prefill",
                   "--clients", "100", "--conns", "10"]),
    "watch-latency": ("watch latency, 100 puts/s to 100 watchers",
                      ["watch-latency", "--streams", "10", "--watchers-per-stream", "10", "--rate", "100"]),
    "watch-fanout": ("watch fan-out, 1 writer to 1,000 watchers",
                     ["watch-fanout", "--streams", "10", "--watchers-per-stream", "100"]),
    "lease-keepalive-100": ("lease keep-alive, 100 clients",
                            ["lease-keepalive", "--clients", "100", "--conns", "10"]),
}
DEFAULT_WORKLOADS = ["put-1", "put-100", "range-l-100", "range-s-100", "txn-put-100", "watch-latency"]
# keeld and etcd with capnslog log this once they serve clients; etcd with zap logs the second.
READY_LINES = ("ready to serve client requests", "serving client traffic")
ROOT = ("root", "keel-bench-root")  # the user --auth creates on every row


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def csv_list(text):
    return [x for x in text.split(",") if x]


class Row:
    """One server configuration: keeld with a backend, transport and authenticator, or etcd."""

    def __init__(self, kind, binary, backend=None, transport=None, authenticator=None):
        self.kind, self.binary = kind, binary
        self.backend, self.transport, self.authenticator = backend, transport, authenticator

    def label(self, vary):
        if self.kind == "etcd":
            return "etcd"
        parts = [self.backend]
        if "transport" in vary:
            parts.append(self.transport)
        if "authenticator" in vary:
            parts.append(self.authenticator)
        return "keel " + "/".join(parts)

    def slug(self):
        if self.kind == "etcd":
            return "etcd"
        return "keel-%s-%s-%s" % (self.backend, self.transport, self.authenticator)


class Member:
    """One process of a row: its name, data dir, ports and log."""

    def __init__(self, name, dir):
        self.name, self.dir = name, dir
        os.makedirs(dir, exist_ok=True)
        self.client_port, self.peer_port = free_port(), free_port()
        self.client_url = "http://127.0.0.1:%d" % self.client_port
        self.peer_url = "http://127.0.0.1:%d" % self.peer_port
        self.log_path = os.path.join(dir, "server.log")
        self.proc = None
        self.cmd = None
        self.id = None  # the member id etcdctl reports, once the leader was looked up

    @property
    def endpoint(self):
        return "127.0.0.1:%d" % self.client_port

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()


class Server:
    """A running row in fresh data dirs: one member, or a cluster of --members; stop() ends it."""

    def __init__(self, row, work_dir, args):
        self.row = row
        self.dir = os.path.join(work_dir, row.slug())
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        n = args.members
        # One member keeps the layout and flags it always had: <slug>/data, <slug>/server.log.
        self.members = [Member("bench", self.dir)] if n == 1 else [
            Member("bench%d" % i, os.path.join(self.dir, "bench%d" % i)) for i in range(n)]
        initial = ",".join("%s=%s" % (m.name, m.peer_url) for m in self.members)
        for m in self.members:
            cmd = [row.binary, "--name", m.name, "--data-dir", os.path.join(m.dir, "data"),
                   "--listen-client-urls", m.client_url, "--advertise-client-urls", m.client_url,
                   "--listen-peer-urls", m.peer_url, "--initial-advertise-peer-urls", m.peer_url,
                   "--initial-cluster", initial, "--snapshot-count", str(args.snapshot_count)]
            if n > 1:
                cmd += ["--initial-cluster-state", "new", "--initial-cluster-token", "keel-bench-" + row.slug()]
            if row.kind == "etcd":
                cmd += ["--logger", "zap", "--log-outputs", "stderr"]
            else:
                cmd += ["--backend", row.backend, "--transport", row.transport,
                        "--auth-token", row.authenticator]
            if args.unsafe_no_fsync:
                cmd.append("--unsafe-no-fsync")
            if args.pin_servers:
                cmd = ["taskset", "-c", args.pin_servers] + cmd  # taskset execs: the pid is the server's
            m.cmd = cmd
        self.cmd = self.members[0].cmd
        # Every member is started before any is waited for: a member of a new cluster is ready
        # only once a leader is elected, which takes a majority.
        for m in self.members:
            with open(m.log_path, "w") as log:
                m.proc = subprocess.Popen(m.cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        for m in self.members:
            while not any(line in m.log() for line in READY_LINES):
                if m.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("%s exited with %d:\n%s" % (" ".join(m.cmd), m.proc.returncode,
                                                                   m.log()[-3000:]))
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("%s did not become ready:\n%s" % (" ".join(m.cmd), m.log()[-3000:]))
                time.sleep(0.05)
        self.leader = self.members[0]
        if n > 1:
            try:
                self.find_leader()
            except RuntimeError:
                self.stop()
                raise
        if args.auth:
            self.enable_auth()

    def find_leader(self, timeout=30):
        """Sets self.leader to the member every member names as leader, once they agree (etcdctl
        endpoint status: the member whose member_id is the leader field)."""
        endpoints = ",".join(m.endpoint for m in self.members)
        deadline = time.monotonic() + timeout
        said = ""
        while time.monotonic() < deadline:
            p = subprocess.run(["etcdctl", "--endpoints", endpoints, "endpoint", "status", "-w", "json"],
                               capture_output=True, text=True, timeout=60, env=dict(os.environ, ETCDCTL_API="3"))
            said = (p.stdout + p.stderr).strip()
            try:
                entries = json.loads(p.stdout) if p.returncode == 0 else []
                # Each entry names the endpoint it answers for, as --endpoints gave it.
                by_endpoint = {m.endpoint: m for m in self.members}
                for e in entries:
                    by_endpoint[e["Endpoint"].split("://")[-1]].id = e["Status"]["header"]["member_id"]
                # Go's JSON leaves out a zero field: no "leader" means none is known yet.
                leaders = {e["Status"].get("leader", 0) for e in entries}
            except (ValueError, KeyError, TypeError):
                entries, leaders = [], set()
            if len(entries) == len(self.members) and len(leaders) == 1 and 0 not in leaders:
                lead = leaders.pop()
                for m in self.members:
                    if m.id == lead:
                        self.leader = m
                        return m
            time.sleep(0.2)
        raise RuntimeError("the members did not agree on a leader within %ds: %s" % (timeout, said[-500:]))

    def enable_auth(self):
        """etcd's way: a root user with the root role, then auth enable (through etcdctl)."""
        user = "%s:%s" % ROOT
        steps = [["user", "add", user], ["user", "grant-role", ROOT[0], "root"], ["auth", "enable"]]
        for step in steps:
            p = subprocess.run(["etcdctl", "--endpoints", self.endpoint] + step, capture_output=True, text=True,
                               timeout=60, env=dict(os.environ, ETCDCTL_API="3"))
            if p.returncode != 0:
                self.stop()
                said = (p.stdout + p.stderr).strip().splitlines() or ["exit %d" % p.returncode]
                raise RuntimeError("cannot enable auth (etcdctl %s): %s" % (" ".join(step), said[-1]))

    @property
    def endpoint(self):
        """Where the load goes: the leader's client address (the only member's, alone)."""
        return self.leader.endpoint

    @property
    def pids(self):
        return [m.proc.pid for m in self.members if m.proc is not None]

    def stop(self):
        live = [m.proc for m in self.members if m.proc is not None and m.proc.poll() is None]
        for proc in live:
            proc.send_signal(signal.SIGTERM)
        for proc in live:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def run_workload(args, server, label, name):
    _, preset = PRESETS[name]
    if len(server.members) > 1:
        try:
            server.find_leader()  # an earlier workload may have moved the leadership
        except RuntimeError as e:
            print("  %-22s %-14s FAILED: %s" % (label, name, e), flush=True)
            return {"preset": name, "row": label, "fatal": str(e)[:160], "ops": 0, "errors": 0, "throughput": 0,
                    "latency_ms": {}, "members": len(server.members)}
    cmd = [args.keel_bench, "--endpoints", server.endpoint, "--server-pid", ",".join(map(str, server.pids)),
           "--output", "json", "--no-progress", "--label", label] + preset
    cmd += ["--duration", str(args.duration)] if args.total is None else ["--total", str(args.total)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    if args.auth:
        cmd += ["--user", "%s:%s" % ROOT]
    if args.pin_load:
        cmd = ["taskset", "-c", args.pin_load] + cmd
    t0 = time.monotonic()
    load_before = os.getloadavg()[0]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    lines = p.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1])
    except (IndexError, ValueError):
        result = {"fatal": "keel-bench exited %d: %s" % (p.returncode, p.stderr.strip()[-500:]), "ops": 0,
                  "errors": 0, "throughput": 0, "latency_ms": {}}
    result["preset"] = name
    result["row"] = label
    result["members"] = len(server.members)
    if len(server.members) > 1:
        result["leader"] = server.leader.name
    result["command"] = " ".join(cmd)
    # The machine's 1-minute load average before and after: a reader can tell a quiet run.
    result["loadavg"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    print("  %-22s %-14s %10.1f/s  p99 %8.3f ms  errors %d  (%.1f s)%s" % (
        label, name, result.get("throughput", 0), result.get("latency_ms", {}).get("p99", 0),
        result.get("errors", 0), time.monotonic() - t0,
        ("  FAILED: " + result["fatal"]) if "fatal" in result else ""), flush=True)
    return result


def ratio(value, base):
    if not base or value is None:
        return None
    return value / base


def fmt(v, digits=1):
    return "" if v is None else ("%.*f" % (digits, v))


def fmt_ratio(r):
    return "" if r is None else "%.2f×" % r


def machine():
    model = platform.processor() or "?"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "%s, %d cores, Linux %s" % (model, os.cpu_count() or 0, platform.release())


def tool_version(binary, flag="--version"):
    try:
        out = subprocess.run([binary, flag], capture_output=True, text=True, timeout=10).stdout
        return out.splitlines()[0].strip() if out else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


COLUMNS = ["workload", "row", "runs", "ops", "errors", "seconds", "throughput", "throughput_min", "throughput_max",
           "throughput_ratio", "avg_ms", "p50_ms",
           "p90_ms", "p99_ms", "p999_ms", "max_ms", "p99_ratio", "server_cpu_s", "server_cpu_ms_per_kop",
           "server_peak_rss_mib", "harness_cpu_s", "events", "events_expected"]


def median_runs(results):
    """(workload, row) -> the run with the median throughput, and the spread of all its runs."""
    groups = {}
    for r in results:
        groups.setdefault((r["preset"], r["row"]), []).append(r)
    chosen = {}
    for key, runs in groups.items():
        ordered = sorted(runs, key=lambda r: r.get("throughput") or 0)
        pick = dict(ordered[(len(ordered) - 1) // 2])
        pick["runs"] = len(runs)
        pick["throughput_min"] = ordered[0].get("throughput")
        pick["throughput_max"] = ordered[-1].get("throughput")
        pick["errors"] = sum(r.get("errors", 0) for r in runs)
        if any("fatal" in r for r in runs) and "fatal" not in pick:
            pick["fatal"] = next(r["fatal"] for r in runs if "fatal" in r)
        chosen[key] = pick
    return chosen


def table_rows(results, labels, baseline, workloads):
    rows = []
    chosen = median_runs(results)
    for w in workloads:
        by_row = {row: r for (wl, row), r in chosen.items() if wl == w}
        base = by_row.get(baseline, {})
        for label in labels:
            r = by_row.get(label)
            if r is None:
                continue
            lat = r.get("latency_ms", {})
            # Watch workloads count events; their CPU cost per thousand events.
            units = r.get("events", r.get("ops", 0)) or 0
            cpu = r.get("server_cpu_s")
            rows.append({
                "workload": w, "row": label, "ops": r.get("ops", 0), "errors": r.get("errors", 0),
                "seconds": r.get("seconds"), "throughput": r.get("throughput"),
                "throughput_ratio": ratio(r.get("throughput"), base.get("throughput")),
                "avg_ms": lat.get("avg"), "p50_ms": lat.get("p50"), "p90_ms": lat.get("p90"),
                "p99_ms": lat.get("p99"), "p999_ms": lat.get("p999"), "max_ms": lat.get("max"),
                "p99_ratio": ratio(lat.get("p99"), base.get("latency_ms", {}).get("p99")),
                "server_cpu_s": cpu,
                "server_cpu_ms_per_kop": (1e6 * cpu / units) if cpu is not None and units else None,
                "server_peak_rss_mib": (r["server_peak_rss_bytes"] / 2**20) if "server_peak_rss_bytes" in r else None,
                "harness_cpu_s": r.get("harness_cpu_s"), "events": r.get("events"),
                "runs": r.get("runs", 1), "throughput_min": r.get("throughput_min"),
                "throughput_max": r.get("throughput_max"), "loadavg": r.get("loadavg"),
                "events_expected": r.get("events_expected"), "fatal": r.get("fatal"),
            })
    return rows


def markdown(rows, baseline, header):
    out = io.StringIO()
    out.write(header)
    runs = max((r["runs"] for r in rows), default=1)
    out.write("\nRatios are to the **%s** row: throughput above 1× is faster, p99 below 1× is better." % baseline)
    if runs > 1:
        out.write(" Each figure is from the median run (by throughput) of %d; \"ops/s range\" is the lowest and "
                  "highest of them." % runs)
    out.write("\n\n| workload | row | ops/s |%s × | p50 ms | p99 ms | p99 × | p99.9 ms | server CPU ms / 1k ops | "
              "server peak RSS MiB | harness CPU s | errors |\n" % (" ops/s range |" if runs > 1 else ""))
    out.write("|---|---|--:|%s--:|--:|--:|--:|--:|--:|--:|--:|--:|\n" % ("--:|" if runs > 1 else ""))
    for r in rows:
        name = r["row"] if r["row"] != baseline else "**%s**" % r["row"]
        errors = str(r["errors"]) + (" (%s)" % r["fatal"] if r.get("fatal") else "")
        spread = (" %s–%s |" % (fmt(r["throughput_min"], 0), fmt(r["throughput_max"], 0))) if runs > 1 else ""
        out.write("| %s | %s | %s |%s %s | %s | %s | %s | %s | %s | %s | %s | %s |\n" % (
            r["workload"], name, fmt(r["throughput"]), spread, fmt_ratio(r["throughput_ratio"]), fmt(r["p50_ms"], 3),
            fmt(r["p99_ms"], 3), fmt_ratio(r["p99_ratio"]), fmt(r["p999_ms"], 3), fmt(r["server_cpu_ms_per_kop"], 0),
            fmt(r["server_peak_rss_mib"]), fmt(r["harness_cpu_s"], 2), errors))
    return out.getvalue()


def svg(rows, labels, workloads, title):
    """Horizontal bars: for each workload, throughput (left) and p99 latency (right) per row."""
    palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f"]
    colour = {label: palette[i % len(palette)] for i, label in enumerate(labels)}
    bar_h, gap, label_w, chart_w, pad = 16, 4, 150, 300, 20
    width = label_w + 2 * chart_w + 4 * pad
    parts, y = [], 40
    for w in workloads:
        rs = [r for r in rows if r["workload"] == w]
        if not rs:
            continue
        parts.append('<text x="%d" y="%d" font-weight="bold">%s</text>' % (pad, y, escape(PRESETS[w][0])))
        y += 16
        parts.append('<text x="%d" y="%d" fill="#555">throughput (%s)</text>' % (
            label_w + pad, y, "events/s" if w.startswith("watch") else "ops/s"))
        parts.append('<text x="%d" y="%d" fill="#555">p99 latency (ms)</text>' % (label_w + chart_w + 3 * pad, y))
        y += 8
        top_t = max((r["throughput"] or 0) for r in rs) or 1
        top_l = max((r["p99_ms"] or 0) for r in rs) or 1
        for r in rs:
            t, lat = r["throughput"] or 0, r["p99_ms"] or 0
            parts.append('<text x="%d" y="%d" text-anchor="end">%s</text>' % (label_w + pad - 6, y + 12, escape(r["row"])))
            wt = max(1, chart_w * t / top_t)
            wl = max(1, chart_w * lat / top_l)
            parts.append('<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>' % (label_w + pad, y, wt, bar_h, colour[r["row"]]))
            parts.append('<text x="%.1f" y="%d" font-size="11">%s</text>' % (label_w + pad + wt + 3, y + 12, fmt(t, 0)))
            x2 = label_w + chart_w + 3 * pad
            parts.append('<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>' % (x2, y, wl, bar_h, colour[r["row"]]))
            parts.append('<text x="%.1f" y="%d" font-size="11">%s</text>' % (x2 + wl + 3, y + 12, fmt(lat, 2)))
            y += bar_h + gap
        y += 28
    head = ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">'
            '<rect width="100%%" height="100%%" fill="white"/><text x="%d" y="22" font-size="15" font-weight="bold">%s</text>'
            % (width + 60, y, pad, escape(title)))
    return head + "".join(parts) + "</svg>\n"


def main():
    ap = argparse.ArgumentParser(prog="keel-bench matrix", description=__doc__.split("\n\n")[0])
    ap.add_argument("--keel-bench", required=True, help=argparse.SUPPRESS)
    ap.add_argument("--keeld", help="keeld binary (default: beside keel-bench)")
    ap.add_argument("--backends", type=csv_list, default=["lmdb", "leveldb"])
    ap.add_argument("--transports", type=csv_list, default=["grpc"],
                    help="keeld --transport values (grpc, tcp); a member alone sends nothing, so this varies "
                         "something only with --members above 1")
    ap.add_argument("--members", type=int, default=1,
                    help="members per row: above 1, a cluster on loopback (etcd's too), the load on its leader")
    ap.add_argument("--authenticators", type=csv_list, default=["simple"],
                    help="keeld --auth-token values (simple, jwt,...)")
    ap.add_argument("--workloads", type=csv_list, default=DEFAULT_WORKLOADS,
                    help="presets, or 'all': " + ", ".join(PRESETS))
    ap.add_argument("--etcd", default="auto", help="etcd binary for a baseline row: auto (on PATH), off, or a path")
    ap.add_argument("--baseline", help="row the ratios are to (default: etcd when it runs, else the first)")
    ap.add_argument("--duration", type=float, default=5, help="seconds per workload")
    ap.add_argument("--total", type=int, help="operations per workload (instead of --duration)")
    ap.add_argument("--threads", type=int, default=0, help="keel-bench --threads")
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds: every row runs every workload once per round, rows taking turns; "
                         "the report shows each figure's median run")
    ap.add_argument("--snapshot-count", type=int, default=10000, help="the same for every row (etcd 3.4's default is 100,000)")
    ap.add_argument("--auth", action="store_true",
                    help="enable auth on every row (a root user, through etcdctl) and run as that user, so the "
                         "authenticator is on every request's path; keel serves no Auth API yet, so a keel row "
                         "fails with etcdctl's answer (for now --auth measures etcd alone)")
    ap.add_argument("--unsafe-no-fsync", action="store_true", help="every row without fsync (etcd 3.4 cannot: its row is dropped)")
    ap.add_argument("--pin-servers", metavar="CPUS",
                    help="run every server (all members of a row) on these CPUs (taskset -c list, e.g. 0)")
    ap.add_argument("--pin-load", metavar="CPUS", help="run keel-bench on these CPUs (taskset -c list, e.g. 1)")
    ap.add_argument("--work-dir", default="/tmp/keel-bench-matrix", help="data dirs, one fresh one per row")
    ap.add_argument("--out", default="bench-report", help="where matrix.md, .csv, .svg and .jsonl go")
    args = ap.parse_args()

    if args.members < 1:
        ap.error("--members must be at least 1")
    if (args.pin_servers or args.pin_load) and not shutil.which("taskset"):
        ap.error("--pin-servers and --pin-load need taskset (util-linux) on PATH")
    if args.members > 1 and not shutil.which("etcdctl"):
        ap.error("--members above 1 needs etcdctl on PATH (it finds the leader)")
    if args.workloads == ["all"]:
        args.workloads = list(PRESETS)
    unknown = [w for w in args.workloads if w not in PRESETS]
    if unknown:
        ap.error("unknown workload(s) %s; presets: %s" % (", ".join(unknown), ", ".join(PRESETS)))
    here = os.path.dirname(os.path.abspath(args.keel_bench))
    keeld = args.keeld or os.path.join(here, "keeld")
    if not os.access(keeld, os.X_OK):
        ap.error("no keeld at %s (--keeld names it)" % keeld)

    rows = []
    etcd = None
    if args.etcd != "off":
        etcd = shutil.which("etcd") if args.etcd == "auto" else args.etcd
        if etcd and args.unsafe_no_fsync:
            print("etcd row dropped: etcd 3.4 has no --unsafe-no-fsync, so it would not be the same sync policy")
            etcd = None
        if etcd:
            rows.append(Row("etcd", etcd))
        elif args.etcd not in ("auto", "off"):
            ap.error("no etcd at %s" % args.etcd)
    for b, t, a in itertools.product(args.backends, args.transports, args.authenticators):
        rows.append(Row("keel", keeld, b, t, a))
    vary = {k for k, v in (("transport", args.transports), ("authenticator", args.authenticators)) if len(v) > 1}
    labels = [r.label(vary) for r in rows]
    baseline = args.baseline or labels[0]
    if baseline not in labels:
        ap.error("--baseline %s is not a row: %s" % (baseline, ", ".join(labels)))

    os.makedirs(args.out, exist_ok=True)
    started = datetime.datetime.now()
    results = []
    # Rows take turns, round after round, so that whatever else the machine does (it is shared
    # with builds) falls on every row alike rather than on whichever ran at the wrong moment.
    for rep in range(args.repeat):
        for row, label in zip(rows, labels):
            print("%s: starting %s%s" % (label, row.binary, " (round %d of %d)" % (rep + 1, args.repeat)
                                         if args.repeat > 1 else ""), flush=True)
            try:
                server = Server(row, args.work_dir, args)
            except RuntimeError as e:
                print("  %s could not start: %s" % (label, e), flush=True)
                for w in args.workloads:
                    results.append({"preset": w, "row": label, "rep": rep,
                                    "fatal": "server did not start: " + str(e).splitlines()[0][:160],
                                    "ops": 0, "errors": 0, "throughput": 0, "latency_ms": {}})
                continue
            try:
                for w in args.workloads:
                    r = run_workload(args, server, label, w)
                    r["rep"] = rep
                    results.append(r)
            finally:
                server.stop()

    stop = "--total %d operations" % args.total if args.total else "%g s" % args.duration
    header = ("# keel-bench matrix\n\n"
              "- date: %s\n- machine: %s\n- keel-bench: %s per workload, fresh data dir per row under %s, "
              "snapshot count %d, %s\n- etcd: %s\n\n" % (
                  started.strftime("%Y-%m-%d %H:%M"), machine(), stop, args.work_dir, args.snapshot_count,
                  ("no fsync" if args.unsafe_no_fsync else "fsync on every commit (the default)") +
                  (", auth enabled (every request carries a token)" if args.auth else ""),
                  tool_version(etcd) if etcd else "not run"))
    if args.members > 1:
        header = header.rstrip("\n") + ("\n- members: %d per row, a cluster on loopback (keel's over the row's "
                                         "transport), the load on the leader's client URL; server CPU and peak "
                                         "RSS are all members' together\n\n" % args.members)
    if args.pin_servers or args.pin_load:
        header = header.rstrip("\n") + "\n- pinned (taskset -c): servers on CPUs %s, keel-bench on CPUs %s\n\n" % (
            args.pin_servers or "any", args.pin_load or "any")
    loads = [x for r in results for x in r.get("loadavg", [])]
    if loads:
        header = header.rstrip("\n") + "\n- load average (1 min) around the runs: %.2f to %.2f (%d cores)\n\n" % (
            min(loads), max(loads), os.cpu_count() or 0)
    header += "Workloads:\n" + "".join("- `%s`: %s (`keel-bench %s`)\n" % (w, PRESETS[w][0], " ".join(PRESETS[w][1]))
                                       for w in args.workloads)
    trows = table_rows(results, labels, baseline, args.workloads)
    md = markdown(trows, baseline, header)
    with open(os.path.join(args.out, "matrix.md"), "w") as f:
        f.write(md)
    with open(os.path.join(args.out, "matrix.csv"), "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        wr.writeheader()
        wr.writerows(trows)
    with open(os.path.join(args.out, "matrix.svg"), "w") as f:
        f.write(svg(trows, labels, args.workloads, "keel-bench matrix, %s (%s)" % (
            started.strftime("%Y-%m-%d"), machine())))
    with open(os.path.join(args.out, "matrix.jsonl"), "w") as f:
        for r in results:
            f.write(json.dumps(r) + "\n")
    print()
    print(md)
    print("wrote %s/matrix.{md,csv,svg,jsonl}" % args.out)
    failed = [r for r in results if r.get("fatal") or r.get("errors")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
