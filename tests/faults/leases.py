"""Leases under faults, for run_faults.py: clients grant leases, put two keys on each, keep some
alive, revoke some and let the others go, and read the keys now and then, each call through a
member picked at random; then what etcd promises of leases is checked.

  never early   a key put with a lease is there until the lease's time is up: a read sent after
                the put was acknowledged, that says the key is absent, must have come after
                (the last grant or keep-alive sent) + (the TTL its answer gave), unless a revoke
                of the lease was sent before that read came back. (The leader counts a lease's
                time from when it got the grant or keep-alive, which is after it was sent, and a
                new leader only ever extends it; so the deletion it proposes at expiry cannot
                commit earlier.)
  atomic        a lease's keys go in one revision (the truth: every event after the run).
  revoked       once a revoke is acknowledged, a read sent afterwards sees none of the keys.
  expires       a lease let go (neither kept alive nor revoked) expires once the faults are over:
                its keys are gone within its TTL and a bound (the leader's election and
                checkpoints) after the run.
A check that needs an answer that never came (a timeout) makes no claim from it.
"""
import random
import threading
import time
from dataclasses import dataclass, field
from typing import List, Optional

PREFIX = "lease/"
NS = 1_000_000_000


@dataclass
class Lease:
    process: int
    id: int
    ttl: int  # as granted (raised to the minimum)
    keys: List[str]
    put_acked: dict = field(default_factory=dict)  # key -> completion time of its acknowledged put
    # (sent, ttl answered) of the grant and of every keep-alive answered with ttl > 0
    renewals: List[tuple] = field(default_factory=list)
    revoke_sent: Optional[int] = None
    revoke_acked: Optional[int] = None  # completion time of an acknowledged revoke
    let_go: bool = False  # neither kept alive nor revoked after its last call
    last_call: int = 0  # when the last grant, keep-alive or revoke of it was sent


@dataclass
class Read:
    lease: Lease
    key: str
    invoked: int
    completed: int
    present: bool


class LeaseClient(threading.Thread):
    """One process of the lease history."""

    def __init__(self, process, seed, cluster, stop, op_timeout, record_write):
        super().__init__(daemon=True)
        self.process = process
        self.rng = random.Random(seed)
        self.cluster = cluster
        self.stop = stop
        self.op_timeout = op_timeout
        self.record_write = record_write  # (key, value, revision or None when unknown)
        self.leases: List[Lease] = []
        self.reads: List[Read] = []
        self.error = None

    def run(self):
        import grpc
        channels = [grpc.insecure_channel(m.endpoint) for m in self.cluster.members]
        try:
            n = 0
            while not self.stop.is_set():
                n += 1
                self.one_lease(n, channels)
        except Exception as e:  # the harness's own fault: reported, never taken for a pass
            self.error = e
        finally:
            for c in channels:
                c.close()

    def _call(self, channels, fn):
        """fn(channel) through a member picked at random: (answer, sent, answered) or
        (None, sent, None) when it failed."""
        import grpc
        sent = time.monotonic_ns()
        try:
            return fn(self.rng.choice(channels)), sent, time.monotonic_ns()
        except grpc.RpcError:
            return None, sent, None

    def one_lease(self, n, channels):
        from etcd3 import etcdrpc as rpc
        ttl = self.rng.randint(2, 5)
        grant, sent, _ = self._call(channels, lambda c: rpc.LeaseStub(c).LeaseGrant(
            rpc.LeaseGrantRequest(TTL=ttl), timeout=self.op_timeout))
        if grant is None or grant.error:
            self.stop.wait(0.2)
            return
        lease = Lease(self.process, grant.ID, grant.TTL,
                      ["%s%d/%d/%s" % (PREFIX, self.process, n, k) for k in ("a", "b")])
        lease.renewals.append((sent, grant.TTL))
        lease.last_call = sent
        self.leases.append(lease)
        for key in lease.keys:
            value = "%d.%d.%s" % (self.process, n, key[-1])
            put, _, done = self._call(channels, lambda c: rpc.KVStub(c).Put(
                rpc.PutRequest(key=key.encode(), value=value.encode(), lease=lease.id), timeout=self.op_timeout))
            if put is None:
                self.record_write(key, value, None)
            else:
                self.record_write(key, value, put.header.revision)
                lease.put_acked[key] = done
        # Then, for a few seconds: reads, keep-alives, and at the end a revoke or letting it go.
        fate = self.rng.choices(("keep", "revoke", "let-go"), weights=(3, 3, 4))[0]
        for _ in range(self.rng.randint(2, 8)):
            if self.stop.wait(self.rng.uniform(0.1, 0.8)):
                break
            if fate == "keep" and self.rng.random() < 0.5:
                self.keep_alive(lease, channels)
            self.read(lease, self.rng.choice(lease.keys), channels)
        if fate == "revoke":
            sent = time.monotonic_ns()
            lease.revoke_sent = sent
            lease.last_call = sent
            revoked, _, done = self._call(channels, lambda c: rpc.LeaseStub(c).LeaseRevoke(
                rpc.LeaseRevokeRequest(ID=lease.id), timeout=self.op_timeout))
            if revoked is not None:
                lease.revoke_acked = done
                for key in lease.keys:
                    self.read(lease, key, channels)
        else:
            lease.let_go = True

    def keep_alive(self, lease, channels):
        from etcd3 import etcdrpc as rpc

        def once(c):
            answers = rpc.LeaseStub(c).LeaseKeepAlive(iter([rpc.LeaseKeepAliveRequest(ID=lease.id)]),
                                                       timeout=self.op_timeout)
            for a in answers:
                return a
            return None
        answer, sent, _ = self._call(channels, once)
        lease.last_call = max(lease.last_call, sent)
        if answer is not None and answer.TTL > 0:
            lease.renewals.append((sent, answer.TTL))

    def read(self, lease, key, channels):
        from etcd3 import etcdrpc as rpc
        answer, sent, done = self._call(channels, lambda c: rpc.KVStub(c).Range(
            rpc.RangeRequest(key=key.encode()), timeout=self.op_timeout))
        if answer is not None:
            self.reads.append(Read(lease, key, sent, done, bool(answer.kvs)))


def start(n, seed, cluster, stop, op_timeout, record_write):
    rng = random.Random(seed)
    clients = [LeaseClient(100 + p, rng.getrandbits(64), cluster, stop, op_timeout, record_write)
               for p in range(n)]
    for c in clients:
        c.start()
    return clients


def check_history(clients, truth_events=None):
    """The checks that need only the history (and, for atomicity, the truth's events as
    watch_guarantees.Event: type, key, mod_revision). A list of violation texts."""
    violations = []
    for c in clients:
        for r in c.reads:
            lease = r.lease
            acked = lease.put_acked.get(r.key)
            if r.present or acked is None or r.invoked < acked:
                continue
            if lease.revoke_sent is not None and lease.revoke_sent < r.completed:
                continue
            earliest = max(sent + ttl * NS for sent, ttl in lease.renewals)
            if r.completed < earliest:
                violations.append(
                    "lease %x (TTL %d s) of process %d: key %s was gone in a read answered %.3f s before the "
                    "lease could expire (its last grant or keep-alive was sent at %.3f s with TTL %d; the put "
                    "was acknowledged at %.3f s, the read sent at %.3f s; no revoke was sent)" % (
                        lease.id, lease.ttl, lease.process, r.key, (earliest - r.completed) / NS,
                        max(lease.renewals)[0] / NS, max(lease.renewals)[1], acked / NS, r.invoked / NS))
            continue
        for r in c.reads:
            lease = r.lease
            if r.present and lease.revoke_acked is not None and r.invoked > lease.revoke_acked:
                violations.append("lease %x of process %d: key %s was still there in a read sent %.3f s after the "
                                  "lease's revoke was acknowledged" % (
                                      lease.id, lease.process, r.key, (r.invoked - lease.revoke_acked) / NS))
    if truth_events is not None:
        deleted = {}  # key -> revision of its delete
        for e in truth_events:
            if e.type == "DELETE" and e.key.startswith(PREFIX):
                deleted[e.key] = e.mod_revision
        for c in clients:
            for lease in c.leases:
                revisions = {deleted[k] for k in lease.keys if k in deleted and k in lease.put_acked}
                if len(revisions) > 1:
                    violations.append("lease %x of process %d: its keys were deleted at different revisions %s "
                                      "(a lease's keys go in one revision)" % (
                                          lease.id, lease.process, sorted(revisions)))
    return violations


def wait_let_go_expire(clients, endpoint, timeout=60):
    """Once the faults are over: every key of a lease let go must be gone within `timeout`
    seconds. A list of violation texts."""
    import grpc
    from etcd3 import etcdrpc as rpc
    left = [(lease, k) for c in clients for lease in c.leases if lease.let_go for k in lease.keys]
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(endpoint) as channel:
        kv = rpc.KVStub(channel)
        while left and time.monotonic() < deadline:
            still = []
            for lease, key in left:
                try:
                    if kv.Range(rpc.RangeRequest(key=key.encode()), timeout=10).kvs:
                        still.append((lease, key))
                except grpc.RpcError:
                    still.append((lease, key))
            left = still
            if left:
                time.sleep(0.5)
    return ["lease %x (TTL %d s) of process %d was let go and its key %s was still there %d s after the faults "
            "ended" % (lease.id, lease.ttl, lease.process, key, timeout) for lease, key in left]


def summary(clients, violations):
    leases = [lease for c in clients for lease in c.leases]
    return {
        "leases": len(leases),
        "kept_alive": sum(1 for lease in leases if len(lease.renewals) > 1),
        "revoked": sum(1 for lease in leases if lease.revoke_acked is not None),
        "let_go": sum(1 for lease in leases if lease.let_go),
        "reads": sum(len(c.reads) for c in clients),
        "ok": not violations,
        "violations": violations[:20],
    }
