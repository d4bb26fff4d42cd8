"""etcdctl (Debian's etcd-client) and python3-etcd3 against a real keeld: the backend quota and
its NOSPACE alarm (what it refuses, alarm list/disarm, a restart keeps it, compaction and defrag
free the space), Hash, MoveLeader on a lone member, --wal-dir, state-machine snapshots every --snapshot-count
entries (files purged to --max-snapshots, a SIGKILL after them loses nothing) and periodic
auto-compaction.

Run with /usr/bin/python3; KEELD names the binary, KEEL_BACKEND the backend plugin.
"""
import json
import os
import re
import sys
import time
import unittest

import grpc

sys.path.insert(0, os.path.dirname(__file__))
from keel_harness import Keeld  # noqa: E402

BACKEND = os.environ.get("KEEL_BACKEND", "lmdb")
NOSPACE = "etcdserver: mvcc: database space exceeded"
QUOTA = 400000
VALUE = "v" * 20000


class MemberCase(unittest.TestCase):
    """Each test starts its own member with the flags it needs."""

    def start(self, *flags):
        self.k = Keeld(BACKEND, extra_args=flags).start()
        self.addCleanup(self.k.close)
        return self.k

    def ctl(self, *args, **kw):
        return self.k.etcdctl(*args, **kw)

    def status(self):
        return json.loads(self.ctl("endpoint", "status", "-w", "json")[1])[0]["Status"]

    def member_id(self):
        return self.status()["header"]["member_id"]

    def stop_cleanly(self):
        code = self.k.stop()
        self.assertEqual(code, 0, self.k.log()[-4000:])


class Quota(MemberCase):
    def fill(self):
        """Puts until the quota refuses one; returns how many were written."""
        for i in range(200):
            code, out, err = self.ctl("put", "q/%d" % (i % 5), VALUE, check=False)
            if code != 0:
                self.assertIn(NOSPACE, err)
                return i
        self.fail("no put was refused with a quota of %d bytes" % QUOTA)

    def alarms(self):
        return self.ctl("alarm", "list")[1]

    def test_nospace_alarm_refuses_growth_until_freed_and_disarmed(self):
        import etcd3
        self.start("--quota-backend-bytes=%d" % QUOTA)
        written = self.fill()
        self.assertGreater(written, 0)
        member = self.member_id()
        raised = "memberID:%d alarm:NOSPACE \n" % member
        self.assertEqual(self.alarms(), raised)
        self.assertEqual(self.status().get("errors"), ["memberID:%d alarm:NOSPACE " % member])

        # What the capped member refuses, and what it still does.
        before = self.status()["header"]["revision"]
        c = etcd3.client(host="127.0.0.1", port=self.k.client_port, timeout=20)
        self.addCleanup(c.close)
        with self.assertRaises(grpc.RpcError) as caught:  # python3-etcd3 passes this code through
            c.put("q/small", "x")
        self.assertEqual(caught.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertEqual(caught.exception.details(), NOSPACE)
        code, _, err = self.ctl("put", "q/small", "x", check=False)
        self.assertNotEqual(code, 0)
        self.assertIn(NOSPACE, err)
        code, _, err = self.ctl("lease", "grant", "60", check=False)
        self.assertNotEqual(code, 0)
        self.assertIn(NOSPACE, err)
        code, _, err = self.ctl("txn", stdin="\nput q/t x\n\n\n", check=False)
        self.assertIn(NOSPACE, err)
        self.assertEqual(self.ctl("get", "q/0", "--print-value-only")[1], VALUE + "\n")
        self.assertEqual(self.status()["header"]["revision"], before, "nothing was written")
        # Deleting is allowed: it frees space.
        self.assertEqual(self.ctl("del", "q/4")[1], "1\n")

        # The alarm is replicated state: a restart keeps it.
        self.stop_cleanly()
        self.k.start()
        self.assertEqual(self.alarms(), raised)
        code, _, err = self.ctl("put", "q/small", "x", check=False)
        self.assertIn(NOSPACE, err)

        # Free the space (compact everything, defragment), then disarm: writes go through again.
        rev = self.status()["header"]["revision"]
        self.assertEqual(self.ctl("compaction", "--physical", str(rev))[1], "compacted revision %d\n" % rev)
        self.ctl("defrag")
        self.assertLess(self.status()["dbSize"], QUOTA, "defragmenting freed the compacted space")
        code, _, err = self.ctl("put", "q/small", "x", check=False)
        self.assertIn(NOSPACE, err, "still refused until disarmed")
        self.assertEqual(self.ctl("alarm", "disarm")[1], raised)
        self.assertEqual(self.alarms(), "")
        self.assertEqual(self.ctl("put", "q/small", "x")[1], "OK\n")
        self.assertRegex(self.ctl("lease", "grant", "60")[1], r"lease [0-9a-f]+ granted")
        # Disarming with nothing raised answers nothing.
        self.assertEqual(self.ctl("alarm", "disarm")[1], "")
        self.stop_cleanly()

    def test_alarm_rpc_actions(self):
        """The Alarm RPC itself, as etcd's applier answers it."""
        import etcd3
        from etcd3 import etcdrpc
        self.start()
        c = etcd3.client(host="127.0.0.1", port=self.k.client_port, timeout=20)
        self.addCleanup(c.close)
        stub = etcdrpc.MaintenanceStub(c.channel)
        req = etcdrpc.AlarmRequest

        def call(action, member, alarm):
            r = stub.Alarm(req(action=action, memberID=member, alarm=alarm), timeout=20)
            return [(a.memberID, a.alarm) for a in r.alarms]

        self.assertEqual(call(req.GET, 0, etcdrpc.NONE), [])
        # NONE is raised, listed and cleared like any alarm, as etcd 3.4.23 answers it.
        self.assertEqual(call(req.ACTIVATE, 42, etcdrpc.NONE), [(42, etcdrpc.NONE)])
        self.assertEqual(call(req.GET, 0, etcdrpc.NONE), [(42, etcdrpc.NONE)])
        self.assertEqual(call(req.DEACTIVATE, 42, etcdrpc.NONE), [(42, etcdrpc.NONE)])
        self.assertEqual(call(req.GET, 0, etcdrpc.NONE), [])
        self.assertEqual(call(req.ACTIVATE, 42, etcdrpc.CORRUPT), [(42, etcdrpc.CORRUPT)])
        self.assertEqual(call(req.ACTIVATE, 7, etcdrpc.NOSPACE), [(7, etcdrpc.NOSPACE)])
        self.assertEqual(call(req.ACTIVATE, 7, etcdrpc.NOSPACE), [(7, etcdrpc.NOSPACE)], "raised twice")
        self.assertEqual(sorted(call(req.GET, 0, etcdrpc.NONE)), [(7, etcdrpc.NOSPACE), (42, etcdrpc.CORRUPT)])
        self.assertEqual(call(req.GET, 0, etcdrpc.NOSPACE), [(7, etcdrpc.NOSPACE)])
        # CORRUPT refuses every request that goes through Raft, reads through the applier aside.
        code, _, err = self.ctl("put", "k", "v", check=False)
        self.assertNotEqual(code, 0)
        self.assertIn("etcdserver: corrupt cluster", err)
        self.assertEqual(call(req.DEACTIVATE, 42, etcdrpc.CORRUPT), [(42, etcdrpc.CORRUPT)])
        self.assertEqual(call(req.DEACTIVATE, 42, etcdrpc.CORRUPT), [], "not raised any more")
        # NOSPACE from another member still caps this one.
        code, _, err = self.ctl("put", "k", "v", check=False)
        self.assertIn(NOSPACE, err)
        self.assertEqual(call(req.DEACTIVATE, 7, etcdrpc.NOSPACE), [(7, etcdrpc.NOSPACE)])
        self.assertEqual(self.ctl("put", "k", "v")[1], "OK\n")
        self.stop_cleanly()


class Hash(MemberCase):
    def test_hash_of_the_whole_backend(self):
        import etcd3
        from etcd3 import etcdrpc
        self.start()

        def hash_now():
            c = etcd3.client(host="127.0.0.1", port=self.k.client_port, timeout=20)
            try:
                r = etcdrpc.MaintenanceStub(c.channel).Hash(etcdrpc.HashRequest(), timeout=20)
                self.assertEqual(r.header.member_id, self.member_id())
                return r.hash
            finally:
                c.close()

        first = hash_now()
        self.assertEqual(hash_now(), first, "nothing written, nothing changed")
        self.ctl("put", "h/k", "v")
        second = hash_now()
        self.assertNotEqual(second, first)
        # Reads and a restart change nothing (the applied index is left out, as etcd does).
        self.ctl("get", "h/k")
        self.stop_cleanly()
        self.k.start()
        self.assertEqual(hash_now(), second)
        lease = self.ctl("lease", "grant", "100")[1].split()[1]
        self.assertNotEqual(hash_now(), second, "leases are in the backend too")
        self.ctl("lease", "revoke", lease)
        self.stop_cleanly()


class MoveLeader(MemberCase):
    def test_lone_member(self):
        self.start()
        own = "%x" % self.member_id()
        self.assertEqual(self.ctl("move-leader", own)[1],
                         "Leadership transferred from %s to %s\n" % (own, own))
        code, _, err = self.ctl("move-leader", "1234", check=False)
        self.assertNotEqual(code, 0)
        self.assertIn("etcdserver: bad leader transferee", err)
        self.stop_cleanly()


class Snapshots(MemberCase):
    def snap_files(self):
        snap = os.path.join(self.k.data_dir, "member-data", "member", "snap")
        return sorted(f for f in os.listdir(snap) if f.endswith(".snap"))

    def test_snapshot_every_count_and_purge(self):
        self.start("--snapshot-count=40", "--max-snapshots=2")
        txn = "".join("put s/%d v%d\n" % (i, i) for i in range(3))
        for i in range(150):
            self.ctl("put", "s/%d" % (i % 30), "v%d" % i)
        self.ctl("txn", stdin="\n" + txn + "\n\n")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(self.snap_files()) < 2:
            time.sleep(0.1)
        files = self.snap_files()
        self.assertEqual(len(files), 2, "--max-snapshots keeps two: %s" % files)
        indexes = [int(re.fullmatch(r"[0-9a-f]{16}-([0-9a-f]{16})\.snap", f).group(1), 16) for f in files]
        self.assertGreaterEqual(max(indexes), 120, files)
        self.assertIn("snapshot at index", self.k.log())
        before = self.ctl("get", "s/", "--prefix", "-w", "json")[1]
        rev = json.loads(before)["header"]["revision"]

        # A SIGKILL after snapshots, mid-stream of writes: the restart is exact.
        self.k.kill()
        self.k.start()
        after = self.ctl("get", "s/", "--prefix", "-w", "json")[1]
        self.assertEqual(json.loads(after)["kvs"], json.loads(before)["kvs"])
        self.assertEqual(json.loads(after)["header"]["revision"], rev)
        for i in range(50):
            self.ctl("put", "s/after", str(i))
        self.assertEqual(self.ctl("get", "s/after", "--print-value-only")[1], "49\n")
        self.stop_cleanly()
        self.k.start()
        self.assertEqual(self.ctl("get", "s/after", "--print-value-only")[1], "49\n")
        self.assertEqual(json.loads(self.ctl("get", "s/after", "-w", "json")[1])["header"]["revision"], rev + 50)
        self.stop_cleanly()


class WalDir(MemberCase):
    def test_wal_dir_holds_the_log(self):
        self.k = Keeld(BACKEND)
        self.addCleanup(self.k.close)
        wal_dir = os.path.join(self.k.data_dir, "separate-wal")
        self.k.extra_args = ["--wal-dir", wal_dir]
        self.k.start()
        for i in range(20):
            self.ctl("put", "w/%d" % i, str(i))
        self.assertTrue(any(f.endswith(".wal") for f in os.listdir(wal_dir)), os.listdir(wal_dir))
        member = os.path.join(self.k.data_dir, "member-data", "member")
        self.assertFalse(os.path.exists(os.path.join(member, "wal")), "the default WAL folder is unused")
        self.k.kill()
        self.k.start()
        got = json.loads(self.ctl("get", "w/", "--prefix", "-w", "json")[1])
        self.assertEqual(got["count"], 20)
        self.stop_cleanly()


class AutoCompaction(MemberCase):
    def test_periodic(self):
        self.start("--auto-compaction-mode=periodic", "--auto-compaction-retention=1s")
        for i in range(5):
            self.ctl("put", "ac/k", str(i))
        # The revision written first is compacted once a period has passed (the test only waits
        # for it: how soon is the benchmark's business, not a test's).
        deadline = time.monotonic() + 120
        while True:
            code, _, err = self.ctl("get", "ac/k", "--rev=2", check=False)
            if code != 0:
                break
            self.assertLess(time.monotonic(), deadline, "revision 2 was never compacted")
            self.ctl("put", "ac/k", "more")
            time.sleep(0.2)
        self.assertIn("etcdserver: mvcc: required revision has been compacted", err)
        self.assertIn("auto-compaction: compacting to revision", self.k.log())
        self.assertEqual(self.ctl("get", "ac/k", "--print-value-only")[1], "more\n")
        self.stop_cleanly()

    def test_revision_mode_starts(self):
        """Revision mode waits five minutes between compactions (etcd's revInterval), which a
        test cannot wait for: the unit test covers its decisions; here, the flags are taken."""
        self.start("--auto-compaction-mode=revision", "--auto-compaction-retention=10")
        self.assertEqual(self.ctl("put", "ac/r", "v")[1], "OK\n")
        self.stop_cleanly()


if __name__ == "__main__":
    unittest.main(verbosity=2)
