#!/usr/bin/env python3
"""One fault run: a cluster of real keeld processes on 127.0.0.1, clients reading and writing a
few keys through every member while faults hit the members, one at a time: SIGKILL and restart
(any member, or the leader), SIGSTOP and SIGCONT, and those made with keeld's failpoints
(failpoints.py: partitions, one-way loss, lossy and slow peer links, a slow disk, a crash at a
chosen point and the restart); then the history is checked for linearizability, twice
(linearizability.py: a register per key; revision_checker.py: the whole key-value history,
multi-key transactions included, against the revisions the answers gave and the truth) and
every member must reach one revision with one HashKV.

    /usr/bin/python3 tests/faults/run_faults.py --seed 7 --duration 20 --transport tcp

The run is chosen by its seed (the operations, the keys, the faults and their timing); the
interleaving with the members' own threads is not, so a replay repeats the run's shape, not its
exact history. Exit 0: linearizable and converged; 1: a violation (the seed, the failing
sub-history and the replay command are printed); 2: the harness could not run, or the
checker's search passed its budget (inconclusive: not a pass).

Watchers (watchers.py) watch the keys through the faults, each resuming on another member when
its stream breaks; after the run the whole history of events is read back by one watch from
revision 1 (the truth), and watch_guarantees.py checks every watcher against it (ordered, unique,
atomic, bookmarkable, gap-free, resumable) and the truth against the writes the clients saw
acknowledged (each at the revision its answer gave). A watch violation is a violation (exit 1);
the report's "watch" entry has the counts and the explanations.

What a client records (linearizability.Op): a get's value, a put, a compare-and-set by txn (on
the value the client last saw for the key, or on the key's absence), each with when it was sent
and answered. A read that fails is dropped (it changed nothing). A write that fails is recorded
as of unknown outcome (it may still have been applied), but for one refused before it left the
client (no connection): that one is dropped.

Multi-key operations (--txn-weight, on by default): a txn-write puts 2-3 keys in one Txn, half
the time guarded by a compare on one key's value or version (on failure: nothing, or a range of
its keys); a txn-read reads several keys in one Txn of ranges, or all of them in one Range over
the prefix. Each operation is also recorded as a revision_checker.KvOp with its answer's header
revision; revision_checker.py checks them against the truth (atomic, compare, read, real-time,
unknown, attributed) and the report's "revisions" entry has the counts and the explanations.
The register checker gets their projections on single keys (revision_checker.register_ops: a
successful txn-write is a put per key, a multi-key read a get per key), which is sound and keeps
it able to explain every value it reads. "verdict" is "violation" when either checker finds one
("register_verdict" is the register checker's alone).

Leases (leases.py, --lease-clients): clients grant leases, put two keys on each, keep some alive,
revoke some and let the rest go, reading the keys meanwhile; the report's "leases" entry checks
that no key went before its lease could expire, a lease's keys went in one revision, a revoked
lease's keys are gone, and a lease let go expires once the faults are over.
"""
import argparse
import collections
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration", "py"))
sys.path.insert(0, HERE)
from keel_harness import Cluster  # noqa: E402
import failpoints as failpoints_mod  # noqa: E402
import leases  # noqa: E402
import linearizability  # noqa: E402
import operations  # noqa: E402
import revision_checker  # noqa: E402
import watch_guarantees  # noqa: E402
import watchers as watchers_mod  # noqa: E402

FAULTS = ("kill", "kill-leader", "pause") + failpoints_mod.KINDS + operations.KINDS
BACKENDS = ("lmdb", "leveldb")


class History:
    """Every recorded operation, from any client thread; and, per key, when the last acknowledged
    write to it was sent and answered (the broken mode's proof that a value is stale). Beside the
    operations, for the watch checker: the acknowledged writes with the revision their answer's
    header gave, the writes of unknown outcome, and the cas writes answered "not swapped" (a
    multi-key write counts once per key it puts). `ops` are the register checker's operations
    (a multi-key op's projections on its keys, revision_checker.register_ops); `kv` are the
    revision checker's, one per operation, with the revision of its answer's header."""

    def __init__(self, keys=()):
        self._lock = threading.Lock()
        self.keys = tuple(keys)  # the keys a range read answers absence for
        self.ops = []
        self.kv = []
        self.last_write = {}  # key -> (invoked, completed) of the latest acknowledged write
        self.acknowledged = []  # (key, value, revision) of each acknowledged put and swapped cas
        self.unknown = []  # (key, value) of each write of unknown outcome
        self.failed = []  # (key, value) of each cas answered "not swapped"
        self.max_revision = 1  # the latest revision a write was acknowledged at

    def add(self, revision=None, **fields):
        """One single-key operation (linearizability.Op's fields); `revision`: its answer's header
        revision (None: no answer, or not known)."""
        op = linearizability.Op(**fields)
        kv = revision_checker.KvOp(process=op.process, kind=op.kind, invoked=op.invoked, completed=op.completed,
                                   outcome=op.outcome, revision=revision if op.outcome == "ok" else None)
        if op.kind == "get":
            kv.reads = {op.key: op.result}
        else:
            kv.puts = {op.key: op.value}
            if op.kind == "cas":
                kv.compares = [(op.key, "value", "=", op.expected) if op.expected is not None
                               else (op.key, "version", "=", 0)]
            if op.outcome == "ok":
                kv.succeeded = True if op.kind == "put" else bool(op.result)
        with self._lock:
            self.ops.append(op)
            self.kv.append(kv)
            self._note(kv)

    def add_multi(self, kv):
        """One multi-key operation (a revision_checker.KvOp): a txn-write, a txn-read or a range."""
        ops = [linearizability.Op(**d) for d in revision_checker.register_ops(kv, self.keys)]
        with self._lock:
            self.ops.extend(ops)
            self.kv.append(kv)
            self._note(kv)

    def _note(self, kv):
        if not kv.puts:
            return
        if kv.applied():
            for key, value in sorted(kv.puts.items()):
                if kv.invoked > self.last_write.get(key, (-1, -1))[0]:
                    self.last_write[key] = (kv.invoked, kv.completed)
                self.acknowledged.append((key, value, kv.revision))
            self.max_revision = max(self.max_revision, kv.revision)
        elif kv.outcome == "unknown":
            self.unknown.extend(sorted(kv.puts.items()))
        else:
            self.failed.extend(sorted(kv.puts.items()))

    def add_lease_write(self, key, value, revision):
        """A put of the lease workload (leases.py), for the watch checker alone (its keys are
        outside the registers'): acknowledged at `revision`, or of unknown outcome (None)."""
        with self._lock:
            if revision is None:
                self.unknown.append((key, value))
            else:
                self.acknowledged.append((key, value, revision))

    def latest_revision(self):
        with self._lock:
            return self.max_revision

    def writes(self):
        """The side lists as watch_guarantees.Writes, with the final reads (process -1)."""
        with self._lock:
            final = {op.key: op.result for op in self.ops if op.process == -1 and op.kind == "get"}
            return watch_guarantees.Writes(acknowledged=list(self.acknowledged), unknown=list(self.unknown),
                                           failed=list(self.failed), final=final)

    def overwritten_since(self, key, t):
        """Whether a write sent after `t` was acknowledged: a value seen by `t` is gone for good
        (every write's value is unique)."""
        with self._lock:
            return self.last_write.get(key, (-1, -1))[0] > t


def never_sent(error):
    """Whether a gRPC error says the request never reached a member (so it changed nothing)."""
    import grpc
    details = error.details() or ""
    return error.code() == grpc.StatusCode.UNAVAILABLE and (
        "failed to connect" in details or "Connection refused" in details)


class Client(threading.Thread):
    """One process of the history: operations one at a time, each through a member picked at
    random, until `stop` is set."""

    def __init__(self, process, seed, cluster, keys, history, stop, op_timeout, stale_reads=False,
                 serializable_reads=False, txn_weight=0):
        super().__init__(daemon=True)
        self.process = process
        self.rng = random.Random(seed)
        self.cluster = cluster
        self.keys = keys
        self.history = history
        self.stop = stop
        self.op_timeout = op_timeout
        self.txn_weight = txn_weight
        self.seen = {}  # key -> the value this client last read or wrote
        self.seen_at = {}  # key -> when the answer that gave it came
        self.seen_rev = {}  # key -> the header revision of that answer
        self.seen_version = {}  # key -> its version in the last read of it (0: absent)
        self.stale_reads = stale_reads
        self.serializable_reads = serializable_reads
        self.writes = 0
        self.error = None

    def run(self):
        import grpc
        channels = [grpc.insecure_channel(m.endpoint) for m in self.cluster.members]
        try:
            while not self.stop.is_set():
                self.one_op(self.rng.choice(channels))
        except Exception as e:  # the harness's own fault: reported, never taken for a pass
            self.error = e
        finally:
            for c in channels:
                c.close()

    def one_op(self, channel):
        import grpc
        from etcd3 import etcdrpc as rpc
        kv = rpc.KVStub(channel)
        key = self.rng.choice(self.keys)
        kind = self.rng.choices(("get", "put", "cas", "txn-write", "txn-read"),
                                weights=(4, 3, 3, self.txn_weight, self.txn_weight))[0]
        if kind == "txn-write":
            return self.txn_write(kv)
        if kind == "txn-read":
            return self.txn_read(kv)
        value = expected = None
        if kind != "get":
            self.writes += 1
            value = "%d.%d" % (self.process, self.writes)
        if kind == "cas":
            expected = self.seen.get(key) if self.rng.random() < 0.8 else None
        if kind == "get" and self.stale_reads and key in self.seen and \
                self.history.overwritten_since(key, self.seen_at[key]):
            # The broken mode: a read answered from the client's memory although a write sent
            # after that value was seen has been acknowledged (before this read began), as a
            # stale cache (or a member serving reads it should not) would answer it. Certainly
            # not linearizable: the checker must catch it.
            now = time.monotonic_ns()
            self.history.add(process=self.process, key=key, kind=kind, value=None, expected=None,
                             invoked=now, completed=now, outcome="ok", result=self.seen[key],
                             revision=self.seen_rev.get(key))
            return
        invoked = time.monotonic_ns()
        revision = None
        try:
            if kind == "get":
                # serializable: the broken mode of a member answering from its own store, however
                # far behind (etcd's serializable reads), which is not linearizable.
                r = kv.Range(rpc.RangeRequest(key=key.encode(), serializable=self.serializable_reads),
                             timeout=self.op_timeout)
                result = r.kvs[0].value.decode() if r.kvs else None
                revision = r.header.revision
                self.seen[key] = result
                self.seen_version[key] = r.kvs[0].version if r.kvs else 0
            elif kind == "put":
                r = kv.Put(rpc.PutRequest(key=key.encode(), value=value.encode()), timeout=self.op_timeout)
                result = None
                revision = r.header.revision
                self.seen[key] = value
                self.seen_version.pop(key, None)
            else:
                if expected is None:
                    compare = rpc.Compare(key=key.encode(), target=rpc.Compare.VERSION,
                                          result=rpc.Compare.EQUAL, version=0)
                else:
                    compare = rpc.Compare(key=key.encode(), target=rpc.Compare.VALUE,
                                          result=rpc.Compare.EQUAL, value=expected.encode())
                put = rpc.RequestOp(request_put=rpc.PutRequest(key=key.encode(), value=value.encode()))
                r = kv.Txn(rpc.TxnRequest(compare=[compare], success=[put]), timeout=self.op_timeout)
                result = bool(r.succeeded)
                revision = r.header.revision
                if result:
                    self.seen[key] = value
                    self.seen_version.pop(key, None)
        except grpc.RpcError as e:
            if kind == "get" or never_sent(e):
                return
            self.history.add(process=self.process, key=key, kind=kind, value=value, expected=expected,
                             invoked=invoked, completed=None, outcome="unknown", result=None)
            return
        completed = time.monotonic_ns()
        self.seen_at[key] = completed
        if kind != "cas" or result:
            self.seen_rev[key] = revision
        self.history.add(process=self.process, key=key, kind=kind, value=value, expected=expected,
                         invoked=invoked, completed=completed, outcome="ok", result=result, revision=revision)

    def saw(self, values, revision, completed, versions=None):
        """What an answer showed of keys (their values, maybe their versions)."""
        for k, v in values.items():
            self.seen[k] = v
            self.seen_at[k] = completed
            self.seen_rev[k] = revision
            if versions is not None and k in versions:
                self.seen_version[k] = versions[k]
            else:
                self.seen_version.pop(k, None)

    def guard(self):
        """A compare on one key, from what this client last saw of it: its value, its version,
        or whether it exists (so that some hold and some do not)."""
        from etcd3 import etcdrpc as rpc
        key = self.rng.choice(self.keys)
        r = self.rng.random()
        if r < 0.4 and self.seen.get(key) is not None:
            c = (key, "value", "=", self.seen[key])
        elif r < 0.7 and key in self.seen_version:
            c = (key, "version", "=", self.seen_version[key])
        elif r < 0.85:
            c = (key, "version", ">", 0)
        else:
            c = (key, "version", "=", 0)
        results = {"=": rpc.Compare.EQUAL, "!=": rpc.Compare.NOT_EQUAL, ">": rpc.Compare.GREATER,
                   "<": rpc.Compare.LESS}
        if c[1] == "value":
            proto = rpc.Compare(key=key.encode(), target=rpc.Compare.VALUE, result=results[c[2]],
                                value=c[3].encode())
        else:
            proto = rpc.Compare(key=key.encode(), target=rpc.Compare.VERSION, result=results[c[2]], version=c[3])
        return c, proto

    def txn_write(self, kv):
        """One Txn putting 2-3 keys (values "<process>.<write>.<key>"), half the time guarded by a
        compare on one key; on failure, nothing or a range of each of its keys."""
        import grpc
        from etcd3 import etcdrpc as rpc
        self.writes += 1
        keys = sorted(self.rng.sample(self.keys, min(len(self.keys), self.rng.randint(2, 3))))
        puts = {k: "%d.%d.%s" % (self.process, self.writes, k) for k in keys}
        compares, protos = [], []
        if self.rng.random() < 0.5:
            c, proto = self.guard()
            compares, protos = [c], [proto]
        read_back = bool(compares) and self.rng.random() < 0.5
        request = rpc.TxnRequest(
            compare=protos,
            success=[rpc.RequestOp(request_put=rpc.PutRequest(key=k.encode(), value=v.encode()))
                     for k, v in sorted(puts.items())],
            failure=[rpc.RequestOp(request_range=rpc.RangeRequest(key=k.encode())) for k in keys] if read_back else [])
        op = revision_checker.KvOp(process=self.process, kind="txn-write", invoked=time.monotonic_ns(), completed=None,
                                   outcome="unknown", puts=puts, compares=compares)
        try:
            r = kv.Txn(request, timeout=self.op_timeout)
        except grpc.RpcError as e:
            if not never_sent(e):
                self.history.add_multi(op)
            return
        op.completed = time.monotonic_ns()
        op.outcome, op.revision, op.succeeded = "ok", r.header.revision, bool(r.succeeded)
        if op.succeeded:
            self.saw(puts, op.revision, op.completed)
        elif read_back:
            values, versions = self.range_answers(r, keys)
            op.reads = values
            self.saw(values, op.revision, op.completed, versions)
        self.history.add_multi(op)

    @staticmethod
    def range_answers(r, keys):
        """The values and versions a Txn's range responses gave for `keys`, in order."""
        values, versions = {}, {}
        for k, resp in zip(keys, r.responses):
            kvs = resp.response_range.kvs
            values[k] = kvs[0].value.decode() if kvs else None
            versions[k] = kvs[0].version if kvs else 0
        return values, versions

    def txn_read(self, kv):
        """Several keys read at once: a Txn of ranges on 2 or more keys, or one Range over the
        prefix "k" (every key)."""
        import grpc
        from etcd3 import etcdrpc as rpc
        invoked = time.monotonic_ns()
        try:
            if self.rng.random() < 0.5:
                kind, read_range = "range", ("k", "l")
                r = kv.Range(rpc.RangeRequest(key=b"k", range_end=b"l", serializable=self.serializable_reads),
                             timeout=self.op_timeout)
                values = {k: None for k in self.keys}
                versions = {k: 0 for k in self.keys}
                for item in r.kvs:
                    values[item.key.decode()] = item.value.decode()
                    versions[item.key.decode()] = item.version
            else:
                kind, read_range = "txn-read", None
                keys = sorted(self.rng.sample(self.keys, self.rng.randint(min(2, len(self.keys)), len(self.keys))))
                r = kv.Txn(rpc.TxnRequest(success=[
                    rpc.RequestOp(request_range=rpc.RangeRequest(key=k.encode(), serializable=self.serializable_reads))
                    for k in keys]), timeout=self.op_timeout)
                values, versions = self.range_answers(r, keys)
        except grpc.RpcError:
            return  # a read that failed changed nothing
        completed = time.monotonic_ns()
        op = revision_checker.KvOp(process=self.process, kind=kind, invoked=invoked, completed=completed,
                                   outcome="ok", revision=r.header.revision, reads=values, read_range=read_range)
        self.saw(values, op.revision, completed, versions)
        self.history.add_multi(op)


class Faults(threading.Thread):
    """Injects one fault at a time, chosen by the seed among `kinds`, at most one member down at a
    time, until `stop` is set; counts what it injected."""

    def __init__(self, seed, cluster, failpoints, kinds, stop):
        super().__init__(daemon=True)
        self.rng = random.Random(seed)
        self.cluster = cluster
        self.failpoints = failpoints
        self.kinds = kinds
        self.stop = stop
        self.injected = collections.Counter()
        # Faults that could not be made: a crash point no member got to, a change the cluster refused.
        self.not_done = collections.Counter()
        self.error = None

    def run(self):
        try:
            while not self.stop.wait(self.rng.uniform(0.5, 2.0)):
                self.inject(self.rng.choice(self.kinds))
        except Exception as e:
            self.error = e

    def target(self, kind):
        if kind == "kill-leader":
            try:
                return self.cluster.leader(timeout=5)
            except AssertionError:
                pass  # no leader agreed on right now: any member will do
        return self.rng.choice(self.cluster.members)

    def count(self, kind, counted_as):
        if counted_as is None:
            self.not_done[kind] += 1
        else:
            self.injected[counted_as] += 1

    def inject(self, kind):
        if kind in failpoints_mod.KINDS:
            counted_as = failpoints_mod.inject(kind, self.rng, self.cluster, self.failpoints, self.stop,
                                               lambda: self.target("kill-leader"))
            self.count(kind, counted_as)
            return
        if kind in operations.KINDS:
            return self.count(kind, operations.inject(kind, self.rng, self.cluster, self.failpoints))
        member = self.target(kind)
        if kind in ("kill", "kill-leader"):
            member.kill()
            self.stop.wait(self.rng.uniform(0.2, 2.0))
            member.start(timeout=60)
        else:
            os.kill(member.proc.pid, signal.SIGSTOP)
            try:
                self.stop.wait(self.rng.uniform(0.3, 3.0))
            finally:
                os.kill(member.proc.pid, signal.SIGCONT)
        self.injected[kind] += 1


def final_reads(cluster, keys, history):
    """A linearizable read of every key once the faults are over: a lost write shows here."""
    import grpc
    from etcd3 import etcdrpc as rpc
    leader = cluster.leader(timeout=60)
    with grpc.insecure_channel(leader.endpoint) as channel:
        kv = rpc.KVStub(channel)
        for key in keys:
            invoked = time.monotonic_ns()
            r = kv.Range(rpc.RangeRequest(key=key.encode()), timeout=30)
            history.add(process=-1, key=key, kind="get", value=None, expected=None, invoked=invoked,
                        completed=time.monotonic_ns(), outcome="ok",
                        result=r.kvs[0].value.decode() if r.kvs else None, revision=r.header.revision)


def base_revision(cluster, timeout=30):
    """The cluster's revision before any client writes (a linearizable read's header)."""
    import grpc
    from etcd3 import etcdrpc as rpc
    deadline = time.monotonic() + timeout
    while True:
        for m in cluster.members:
            with grpc.insecure_channel(m.endpoint) as channel:
                try:
                    return rpc.KVStub(channel).Range(rpc.RangeRequest(key=b"k"), timeout=5).header.revision
                except grpc.RpcError:
                    if time.monotonic() > deadline:
                        raise
        time.sleep(0.2)


def check_watches(cluster, watchers, history, revision, base):
    """The truth read from the leader, and every watcher checked against it; a WatchResult."""
    leader = cluster.leader(timeout=60)
    truth = watchers_mod.read_truth(leader.endpoint, revision, base)
    segments = [s for w in watchers for s in w.segments]
    return watch_guarantees.check(segments, truth, history.writes()), segments, truth


def converged(cluster, timeout=60):
    """Every member at one revision with one HashKV there; the revision, or an error text."""
    deadline = time.monotonic() + timeout
    revisions = {}
    while time.monotonic() < deadline:
        revisions = {}
        for m in cluster.members:
            st = cluster.status(m)
            revisions[m.name] = st["header"]["revision"] if st else None
        if None not in revisions.values() and len(set(revisions.values())) == 1:
            rev = revisions[cluster.members[0].name]
            hashes = {}
            for m in cluster.members:
                _, out, _ = m.etcdctl("endpoint", "hashkv", "--rev", str(rev), "-w", "json")
                hashes[m.name] = json.loads(out)[0]["HashKV"]["hash"]
            if len(set(hashes.values())) == 1:
                return rev, None
            return rev, "HashKV at revision %d differs: %r" % (rev, hashes)
        time.sleep(0.2)
    return None, "the members did not reach one revision: %r" % revisions


def replay_command(args):
    return "/usr/bin/python3 tests/faults/run_faults.py --seed %d --duration %g --members %d " \
           "--transport %s --clients %d --keys %d --watchers %d --lease-clients %d --snapshot-count %d " \
           "--txn-weight %g --faults %s%s" % (
               args.seed, args.duration, args.members, args.transport, args.clients, args.keys,
               args.watchers, args.lease_clients, args.snapshot_count, args.txn_weight, ",".join(args.faults),
               " --broken " + args.broken if args.broken else "")


def run(args):
    """One run; returns the report (a dict)."""
    rng = random.Random(args.seed)
    extra = []
    if args.snapshot_count:
        # Snapshots often, and a follower behind by half as much catches up by one.
        extra = ["--snapshot-count", str(args.snapshot_count),
                 "--experimental-snapshot-catchup-entries", str(max(1, args.snapshot_count // 2))]
    cluster = Cluster(args.members, backends=BACKENDS, transport=args.transport,
                      token="keel-faults-%d" % args.seed, extra_args=extra)
    keys = ["k%d" % i for i in range(args.keys)]
    history = History(keys)
    stop = threading.Event()
    report = {"seed": args.seed, "transport": args.transport, "members": args.members,
              "duration_s": args.duration, "replay": replay_command(args)}
    failpoints = failpoints_mod.Failpoints(cluster)
    try:
        cluster.start()
        failpoints.learn_ids()
        base = base_revision(cluster)
        clients = [Client(p, rng.getrandbits(64), cluster, keys, history, stop, args.op_timeout,
                          stale_reads=args.broken == "stale-reads",
                          serializable_reads=args.broken == "serializable-reads", txn_weight=args.txn_weight)
                   for p in range(args.clients)]
        faults = Faults(rng.getrandbits(64), cluster, failpoints, args.faults, stop)
        for t in clients + [faults]:
            t.start()
        watchers = watchers_mod.start_watchers(args.watchers, rng.getrandbits(64), cluster, stop,
                                               history.latest_revision, args.duration)
        lease_clients = leases.start(args.lease_clients, rng.getrandbits(64), cluster, stop, args.op_timeout,
                                     history.add_lease_write)
        stop.wait(args.duration)
        stop.set()
        for t in clients + [faults] + watchers + lease_clients:
            t.join(timeout=120)
            if t.is_alive():
                raise RuntimeError("a harness thread did not stop")
            if t.error is not None:
                raise RuntimeError("a harness thread failed: %r" % (t.error,))
        failpoints.heal()
        for m in cluster.members:
            if not m.alive():
                m.start(timeout=60)
        final_reads(cluster, keys, history)
        revision, divergence = converged(cluster)
        result = linearizability.check(history.ops)
        watch = revisions = truth = None
        if revision is not None:
            watch, segments, truth = check_watches(cluster, watchers, history, revision, base)
            revisions = revision_checker.check(history.kv, truth)
        lease_violations = leases.check_history(lease_clients, truth.events if truth is not None else None)
        lease_violations += leases.wait_let_go_expire(lease_clients, cluster.leader(timeout=60).endpoint)
        outcomes = collections.Counter("%s %s" % (op.kind, op.outcome) for op in history.kv)
        report.update({
            "operations": len(history.kv),
            "register_operations": len(history.ops),  # with the multi-key ops' projections
            "outcomes": dict(outcomes),
            "faults": dict(faults.injected),
            "faults_not_done": dict(faults.not_done),
            "revision": revision,
            # Linearizable by both checkers: the registers (result) and the revisions.
            "linearizable": result.ok and revisions is not None and revisions.ok,
            "verdict": "violation" if revisions is not None and not revisions.ok else result.verdict,
            "register_verdict": result.verdict,
            "check": result.summary(),
            "converged": divergence is None,
            "watch": watch.summary() if watch is not None else
            {"ok": False, "violations": ["not checked: the members did not converge"]},
            "revisions": revisions.summary() if revisions is not None else
            {"ok": False, "violations": ["not checked: the members did not converge"]},
            "leases": leases.summary(lease_clients, lease_violations),
        })
        if divergence:
            report["divergence"] = divergence
        if args.out:
            with open(os.path.join(args.out, "history-%d.jsonl" % args.seed), "w") as f:
                for op in history.ops:
                    f.write(json.dumps(op.__dict__) + "\n")
            if watch is not None:
                with open(os.path.join(args.out, "watch-%d.json" % args.seed), "w") as f:
                    f.write(watch_guarantees.to_json(segments, truth, history.writes()) + "\n")
            with open(os.path.join(args.out, "kvops-%d.jsonl" % args.seed), "w") as f:
                for op in history.kv:
                    f.write(revision_checker.to_json_line(op) + "\n")
        if not result.ok:
            report["failing_sub_history"] = result.explain()
        return report
    finally:
        stop.set()
        for m in cluster.members:
            if m.proc is not None and m.proc.poll() is None:
                os.kill(m.proc.pid, signal.SIGCONT)
        cluster.stop()
        if not args.keep:
            cluster.close()
        else:
            report["data_dirs"] = [m.data_dir for m in cluster.members]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=None, help="the run's seed (default: random)")
    p.add_argument("--duration", type=float, default=20, help="seconds of load and faults")
    p.add_argument("--members", type=int, default=3)
    p.add_argument("--transport", default=os.environ.get("KEEL_TRANSPORT", "grpc"))
    p.add_argument("--clients", type=int, default=6)
    p.add_argument("--keys", type=int, default=4)
    p.add_argument("--watchers", type=int, default=3, help="watches kept open through the faults")
    p.add_argument("--lease-clients", type=int, default=2,
                   help="clients granting leases with keys on them (leases.py)")
    p.add_argument("--snapshot-count", type=int, default=0,
                   help="the members' --snapshot-count (0: keeld's default), so followers catch up "
                        "by snapshot")
    p.add_argument("--txn-weight", type=float, default=2,
                   help="how often the clients send multi-key ops: txn-writes and txn-reads each get this weight "
                        "beside get 4, put 3, cas 3 (0: single-key ops only)")
    p.add_argument("--op-timeout", type=float, default=1.5, help="seconds before a request's outcome is unknown")
    p.add_argument("--faults", default=",".join(FAULTS),
                   help="comma-separated, from: %s" % ", ".join(FAULTS))
    p.add_argument("--out", default=None, help="a folder for the report and the history")
    p.add_argument("--keep", action="store_true", help="keep the members' data dirs")
    p.add_argument("--broken", choices=("stale-reads", "serializable-reads"), default=None,
                   help="a deliberately broken mode the checker must catch: stale-reads answers a read "
                        "from the client's memory once a later write to the key was acknowledged; "
                        "serializable-reads asks the members for serializable reads, which a member cut "
                        "off from the leader answers from its own, older store")
    args = p.parse_args(argv)
    args.faults = [f for f in args.faults.split(",") if f]
    unknown = [f for f in args.faults if f not in FAULTS]
    if unknown or not args.faults:
        p.error("unknown faults %r; choose from %s" % (unknown, ", ".join(FAULTS)))
    if args.seed is None:
        args.seed = random.SystemRandom().getrandbits(31)
    return args


def main(argv):
    args = parse_args(argv)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
    print("fault run: seed %d (replay: %s)" % (args.seed, replay_command(args)), flush=True)
    try:
        report = run(args)
    except Exception as e:
        print("the harness could not run (seed %d): %r" % (args.seed, e), flush=True)
        return 2
    text = json.dumps(report, indent=2, sort_keys=True)
    print(text)
    if args.out:
        with open(os.path.join(args.out, "report-%d.json" % args.seed), "w") as f:
            f.write(text + "\n")
    if report["verdict"] == "violation" or not report["converged"] or not report["watch"]["ok"] or \
            not report["revisions"]["ok"] or not report["leases"]["ok"]:
        print("VIOLATION (seed %d); replay: %s" % (args.seed, report["replay"]), flush=True)
        return 1
    if report["verdict"] != "linearizable":
        print("INCONCLUSIVE (seed %d): the checker's search passed its budget; replay: %s" % (
            args.seed, report["replay"]), flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
