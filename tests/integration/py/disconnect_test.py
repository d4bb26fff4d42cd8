"""Clients that go away mid-stream, and SIGKILL of keeld with streams open (issue #7).

Disconnects: a watch with many events pending, a LeaseKeepAlive stream that is never read, a
Snapshot stream cut after its first chunk and a huge Range, each dropped many times over, by a
client process that is SIGKILLed (no HTTP/2 goodbye, the socket just closes) and by a client that
cancels. Afterwards keeld still serves, and its threads and resident memory
(/proc/<pid>/status Threads, VmRSS) have not grown with the repetitions: a stream whose client is
gone must be finished and freed, its watchers cancelled, its snapshot thread ended. The bounds
are generous (a leak of the streams dropped here would pass them many times over), and no
timing is asserted: memory and threads are polled with long deadlines.

Crash: SIGKILL keeld while watchers and keep-alive streams are open, restart it on the same data
dir: the clients' streams end (they do not hang), the revision and HashKV are what they were,
the leases still exist with TTLs no larger than granted and their keys attached, a lease left
to expire still expires, and a watch from before the kill replays exactly what was written.

Run with /usr/bin/python3; KEELD names the binary, KEEL_BACKEND the backend plugin.
"""
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from keel_harness import Keeld, MemberTestCase  # noqa: E402

import grpc  # noqa: E402
from etcd3 import etcdrpc as rpc  # noqa: E402

T = 20
BACKEND = os.environ.get("KEEL_BACKEND", "lmdb")
HISTORY_TXNS = 40          # the preloaded history: 40 revisions ...
PUTS_PER_TXN = 100         # ... of 100 puts ...
VALUE_BYTES = 4096         # ... of 4 KiB: 16 MiB of events, 4000 keys
REPS = 24                  # disconnects of each kind


def channel(endpoint):
    return grpc.insecure_channel(endpoint, options=[
        ("grpc.max_receive_message_length", 256 << 20)])


# --- the client process that is killed -------------------------------------------------------

def client_main(endpoint, mode):
    """Opens one kind of stream, prints "ready" once it is under way, then waits to be killed."""
    ch = channel(endpoint)
    if mode == "watch":
        # Four watchers of the whole history on one stream: far more events than are read.
        reqs = [rpc.WatchRequest(create_request=rpc.WatchCreateRequest(
            key=b"h/", range_end=b"h0", start_revision=1, prev_kv=True)) for _ in range(4)]
        call = rpc.WatchStub(ch).Watch(_forever(reqs))
        next(call)
    elif mode == "keepalive":
        lid = int(os.environ["KEEL_LEASE"])
        call = rpc.LeaseStub(ch).LeaseKeepAlive(
            _forever([rpc.LeaseKeepAliveRequest(ID=lid)] * 500))
        next(call)  # and never again: the server's queue fills, it stops reading
    elif mode == "snapshot":
        call = rpc.MaintenanceStub(ch).Snapshot(rpc.SnapshotRequest())
        next(call)
    elif mode == "range":
        fut = rpc.KVStub(ch).Range.future(rpc.RangeRequest(key=b"h/", range_end=b"h0"))
        del fut
    print("ready", flush=True)
    while True:
        time.sleep(60)


def _forever(first):
    """Sends `first`, then keeps the request side open (a half-close would end a keep-alive)."""
    for r in first:
        yield r
    while True:
        time.sleep(60)


# --- /proc ------------------------------------------------------------------------------------

def proc_status(pid):
    """Threads, open file descriptors and resident bytes of process `pid`."""
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            name, _, value = line.partition(":")
            fields[name] = value.strip()
    fds = len(os.listdir("/proc/%d/fd" % pid))
    return int(fields["Threads"]), fds, int(fields["VmRSS"].split()[0]) * 1024


class Disconnects(MemberTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ch = channel(cls.k.endpoint)
        cls.kv = rpc.KVStub(cls.ch)
        value = b"v" * VALUE_BYTES
        for t in range(HISTORY_TXNS):
            cls.kv.Txn(rpc.TxnRequest(success=[
                rpc.RequestOp(request_put=rpc.PutRequest(key=b"h/%02d/%03d" % (t, i), value=value))
                for i in range(PUTS_PER_TXN)]), timeout=T)
        cls.lease_id = rpc.LeaseStub(cls.ch).LeaseGrant(rpc.LeaseGrantRequest(TTL=3600),
                                                       timeout=T).ID

    @classmethod
    def tearDownClass(cls):
        cls.ch.close()
        super().tearDownClass()  # keeld must still stop cleanly on SIGTERM

    def status(self):
        return proc_status(self.k.proc.pid)

    def killed_client(self, mode):
        p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--client",
                              self.k.endpoint, mode], stdout=subprocess.PIPE, text=True,
                             env=dict(os.environ, KEEL_LEASE=str(self.lease_id)))
        try:
            line = p.stdout.readline()
            self.assertEqual(line, "ready\n", "the %s client did not get going" % mode)
        finally:
            p.send_signal(signal.SIGKILL)
            p.wait()
            p.stdout.close()

    def serves(self):
        r = self.kv.Range(rpc.RangeRequest(key=b"h/", range_end=b"h0", count_only=True),
                          timeout=T)
        self.assertEqual(r.count, HISTORY_TXNS * PUTS_PER_TXN)

    def bounded(self, once, what, max_rss_growth=96 << 20, max_growth=8):
        """Runs `once` REPS times (the allocator and gRPC reach their working size), measures,
        then REPS times more: what a leak costs grows with every round, so threads, open fds and
        RSS must come back near the first round's."""
        for _ in range(REPS):
            once()
        self.serves()
        threads0, fds0, rss0 = self.status()
        for _ in range(REPS):
            once()
        deadline = time.monotonic() + 60
        while True:
            self.serves()
            threads, fds, rss = self.status()
            if (threads <= threads0 + max_growth and fds <= fds0 + max_growth and
                    rss <= rss0 + max_rss_growth) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        print("%s: threads %d -> %d, fds %d -> %d, VmRSS %.1f -> %.1f MiB" % (
            what, threads0, threads, fds0, fds, rss0 / 2**20, rss / 2**20), file=sys.stderr)
        self.assertLessEqual(threads, threads0 + max_growth, what + ": threads grew")
        self.assertLessEqual(fds, fds0 + max_growth, what + ": open fds grew")
        self.assertLessEqual(rss, rss0 + max_rss_growth, what + ": memory grew")

    # Each stream leaked here would cost more than bound/REPS: a watcher of 16 MiB of history,
    # a snapshot's thread and read transaction, a 16 MiB Range response, and every one of them
    # its connection's socket.

    def test_watch_with_many_events_pending_killed_client(self):
        self.bounded(lambda: self.killed_client("watch"), "watch, client killed")

    def test_watch_with_many_events_pending_cancelled(self):
        def once():
            ch = channel(self.k.endpoint)
            call = rpc.WatchStub(ch).Watch(_forever([rpc.WatchRequest(
                create_request=rpc.WatchCreateRequest(key=b"h/", range_end=b"h0",
                                                      start_revision=1))] * 4))
            self.assertGreater(len(next(call).events) + 1, 0)
            call.cancel()
            ch.close()
        self.bounded(once, "watch, cancelled")

    def test_keepalive_stream_killed_client(self):
        self.bounded(lambda: self.killed_client("keepalive"), "keep-alive, client killed")
        r = rpc.LeaseStub(self.ch).LeaseKeepAlive(iter([rpc.LeaseKeepAliveRequest(
            ID=self.lease_id)]), timeout=T)
        self.assertEqual([x.TTL for x in r], [3600])

    def test_snapshot_cut_after_first_chunk(self):
        self.bounded(lambda: self.killed_client("snapshot"), "snapshot, client killed")

        def cancelled():
            ch = channel(self.k.endpoint)
            call = rpc.MaintenanceStub(ch).Snapshot(rpc.SnapshotRequest(), timeout=T)
            self.assertGreater(len(next(call).blob), 0)
            call.cancel()
            ch.close()
        self.bounded(cancelled, "snapshot, cancelled")
        # A whole snapshot still comes through, with the store in it.
        path = os.path.join(self.k.data_dir, "after.db")
        self.assertIn("Snapshot saved at", self.k.etcdctl("snapshot", "save", path)[1])
        self.assertGreater(os.path.getsize(path), HISTORY_TXNS * PUTS_PER_TXN * VALUE_BYTES)

    def test_huge_range_abandoned(self):
        # The first rounds leave the allocator holding a few 16 MiB responses' worth (one per
        # gRPC thread's arena) without leaking: a leak of every response would be REPS × 16 MiB.
        self.bounded(lambda: self.killed_client("range"), "huge range, client killed",
                     max_rss_growth=REPS * (16 << 20) // 2)

        def cancelled():
            ch = channel(self.k.endpoint)
            fut = rpc.KVStub(ch).Range.future(rpc.RangeRequest(key=b"h/", range_end=b"h0"),
                                              timeout=T)
            fut.cancel()
            ch.close()
        self.bounded(cancelled, "huge range, cancelled")
        # And served whole when the client waits for it (no limit: etcd sends it all).
        r = self.kv.Range(rpc.RangeRequest(key=b"h/", range_end=b"h0"), timeout=60)
        self.assertEqual(len(r.kvs), HISTORY_TXNS * PUTS_PER_TXN)


class CrashWithStreams(unittest.TestCase):
    """SIGKILL with watchers and keep-alives open, then restart on the same data dir."""

    def setUp(self):
        self.k = Keeld(BACKEND).start()
        self.addCleanup(self.k.close)

    def connect(self):
        ch = channel(self.k.endpoint)
        self.addCleanup(ch.close)
        return ch, rpc.KVStub(ch), rpc.LeaseStub(ch), rpc.MaintenanceStub(ch)

    def state(self, kv, lease, mt):
        h = mt.HashKV(rpc.HashKVRequest(), timeout=T)
        ids = sorted(l.ID for l in lease.LeaseLeases(rpc.LeaseLeasesRequest(), timeout=T).leases)
        return h.header.revision, h.hash, ids, h.header.member_id

    def test_sigkill_with_watchers_and_keepalives(self):
        ch, kv, lease, mt = self.connect()
        kept = lease.LeaseGrant(rpc.LeaseGrantRequest(TTL=60), timeout=T).ID
        idle = lease.LeaseGrant(rpc.LeaseGrantRequest(TTL=40, ID=777), timeout=T).ID
        short = lease.LeaseGrant(rpc.LeaseGrantRequest(TTL=3), timeout=T).ID
        for key, lid in [(b"c/kept/a", kept), (b"c/kept/b", kept), (b"c/idle", idle),
                         (b"c/short", short)]:
            kv.Put(rpc.PutRequest(key=key, value=b"v", lease=lid), timeout=T)
        start = kv.Put(rpc.PutRequest(key=b"c/plain", value=b"0"), timeout=T).header.revision

        for cycle in range(3):
            streams = []
            stop = threading.Event()

            def requests(make):
                while not stop.is_set():
                    yield make()
                    time.sleep(0.05)

            # Watchers (one from the start of this test's history, one from now) and keep-alive
            # streams, all open and busy when keeld is killed.
            wch = channel(self.k.endpoint)
            for rev in (start, 0):
                streams.append(rpc.WatchStub(wch).Watch(_first_then_wait(
                    rpc.WatchRequest(create_request=rpc.WatchCreateRequest(
                        key=b"c/", range_end=b"c0", start_revision=rev)), stop)))
            for _ in range(3):
                streams.append(rpc.LeaseStub(wch).LeaseKeepAlive(
                    requests(lambda: rpc.LeaseKeepAliveRequest(ID=kept))))
            for s in streams:
                self.assertIsNotNone(next(s))
            for i in range(20):
                kv.Put(rpc.PutRequest(key=b"c/plain", value=b"%d-%d" % (cycle, i)), timeout=T)
            before = self.state(kv, lease, mt)
            ended = []

            def drain(s):
                try:
                    for _ in s:
                        pass
                    ended.append("ok")
                except grpc.RpcError as e:
                    ended.append(e.code())
            drains = [threading.Thread(target=drain, args=(s,), daemon=True) for s in streams]
            for d in drains:
                d.start()

            self.k.kill()
            # Every stream ends: the client sees the member go, nothing hangs.
            for d in drains:
                d.join(60)
            self.assertEqual(len(ended), len(streams), "a stream hung after SIGKILL")
            self.assertTrue(all(e == grpc.StatusCode.UNAVAILABLE for e in ended), ended)
            stop.set()
            wch.close()

            self.k.start()
            ch, kv, lease, mt = self.connect()
            after = self.state(kv, lease, mt)
            self.assertIsNone(self.k.proc.poll(), "keeld stopped after its restart:\n" + self.k.log()[-6000:])
            # Another test's member on this port (taken while this one was down) would answer
            # with its own id.
            self.assertEqual(after[3], before[3], "another member answers on this member's port")
            self.assertEqual(after[:2], before[:2], "revision or HashKV changed across SIGKILL; keeld's log ends:\n" +
                             self.k.log()[-6000:])
            self.assertTrue({kept, idle} <= set(after[2]), after)
            for lid, granted, keys in [(kept, 60, [b"c/kept/a", b"c/kept/b"]),
                                       (idle, 40, [b"c/idle"])]:
                info = lease.LeaseTimeToLive(rpc.LeaseTimeToLiveRequest(ID=lid, keys=True),
                                             timeout=T)
                self.assertEqual(info.grantedTTL, granted)
                self.assertTrue(0 < info.TTL <= granted, info)
                self.assertEqual(sorted(info.keys), keys)
                for key in keys:
                    self.assertEqual(kv.Range(rpc.RangeRequest(key=key), timeout=T).kvs[0].lease,
                                     lid)
            # A watch from before the kill replays exactly what was written since.
            w = rpc.WatchStub(ch).Watch(_first_then_wait(rpc.WatchRequest(
                create_request=rpc.WatchCreateRequest(key=b"c/plain", start_revision=start)),
                stop=threading.Event()), timeout=T)
            self.assertTrue(next(w).created)
            revs = []
            while len(revs) < 1 + 20 * (cycle + 1):
                revs.extend(e.kv.mod_revision for e in next(w).events)
            w.cancel()
            history = kv.Range(rpc.RangeRequest(key=b"c/plain"), timeout=T).kvs[0]
            self.assertEqual(revs[0], start)
            self.assertEqual(revs[-1], history.mod_revision)
            self.assertEqual(len(revs), history.version)

        # The lease nobody kept alive still expires after the restarts, taking its key.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and kv.Range(rpc.RangeRequest(key=b"c/short"),
                                                       timeout=T).count:
            time.sleep(0.2)
        self.assertEqual(kv.Range(rpc.RangeRequest(key=b"c/short"), timeout=T).count, 0)
        self.assertEqual(lease.LeaseTimeToLive(rpc.LeaseTimeToLiveRequest(ID=short),
                                               timeout=T).TTL, -1)
        self.assertEqual(self.k.stop(), 0)


def _first_then_wait(first, stop):
    yield first
    while not stop.is_set():
        time.sleep(0.05)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--client"]:
        client_main(sys.argv[2], sys.argv[3])
    else:
        unittest.main(verbosity=2)
