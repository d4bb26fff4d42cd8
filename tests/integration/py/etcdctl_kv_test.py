"""etcdctl (Debian's etcd-client) and python3-etcd3 against a real keeld: the KV, maintenance
and cluster commands with their flags, and the errors etcd gives for bad input.

Run with /usr/bin/python3; KEELD names the binary, KEEL_BACKEND the backend plugin.
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from keel_harness import ETCDCTL, ClientTestCase, Keeld, MemberTestCase  # noqa: E402



class EtcdctlKv(MemberTestCase):
    def ctl(self, *args, **kw):
        return self.k.etcdctl(*args, **kw)[1]

    def fails(self, *args, stdin=None):
        code, out, err = self.k.etcdctl(*args, stdin=stdin, check=False)
        self.assertNotEqual(code, 0, out)
        return err

    def test_put_get_delete(self):
        self.assertEqual(self.ctl("put", "pgd/a", "1"), "OK\n")
        self.assertEqual(self.ctl("get", "pgd/a"), "pgd/a\n1\n")
        self.assertEqual(self.ctl("put", "pgd/a", "2", "--prev-kv"), "OK\npgd/a\n1\n")
        self.assertEqual(self.ctl("del", "pgd/a"), "1\n")
        self.assertEqual(self.ctl("get", "pgd/a"), "")
        self.assertEqual(self.ctl("del", "pgd/a"), "0\n")

    def test_range_flags(self):
        for i, v in enumerate(["c", "a", "b", "e", "d"]):
            self.ctl("put", "rf/%d" % i, v)
        self.ctl("put", "rg", "outside")
        keys = self.ctl("get", "rf/", "--prefix", "--keys-only").split()
        self.assertEqual(keys, ["rf/0", "rf/1", "rf/2", "rf/3", "rf/4"])
        # etcdctl 3.4 has no --count-only; PythonEtcd3Kv.test_count_only sends it through gRPC.
        self.assertEqual(self.ctl("get", "rf/", "--prefix", "-w", "json").count('"count":5'), 1)
        limited = self.ctl("get", "rf/", "--prefix", "--limit", "2", "--keys-only").split()
        self.assertEqual(limited, ["rf/0", "rf/1"])
        by_value = self.ctl("get", "rf/", "--prefix", "--sort-by", "VALUE", "--order", "DESCEND",
                            "--print-value-only").split()
        self.assertEqual(by_value, ["e", "d", "c", "b", "a"])
        from_key = self.ctl("get", "rf/3", "--from-key", "--keys-only").split()
        self.assertEqual(from_key, ["rf/3", "rf/4", "rg"])
        serializable = self.ctl("get", "rf/0", "--consistency", "s")
        self.assertEqual(serializable, "rf/0\nc\n")
        self.assertEqual(self.ctl("del", "rf/", "--prefix", "--prev-kv").split()[0], "5")

    def test_revisions_and_compaction(self):
        out = json.loads(self.ctl("put", "rev/k", "v1", "-w", "json"))
        r1 = int(out["header"]["revision"])
        self.ctl("put", "rev/k", "v2")
        self.assertEqual(self.ctl("get", "rev/k", "--rev", str(r1), "--print-value-only"), "v1\n")
        err = self.fails("get", "rev/k", "--rev", str(r1 + 1000))
        self.assertIn("etcdserver: mvcc: required revision is a future revision", err)
        self.assertIn("compacted revision %d" % (r1 + 1), self.ctl("compaction", str(r1 + 1), "--physical"))
        err = self.fails("get", "rev/k", "--rev", str(r1))
        self.assertIn("etcdserver: mvcc: required revision has been compacted", err)
        err = self.fails("compaction", str(r1))
        self.assertIn("etcdserver: mvcc: required revision has been compacted", err)
        self.assertEqual(self.ctl("get", "rev/k", "--print-value-only"), "v2\n")

    def test_ignore_value_and_lease(self):
        err = self.fails("put", "iv/missing", "--ignore-value")
        self.assertIn("etcdserver: key not found", err)
        self.ctl("put", "iv/k", "kept")
        self.ctl("put", "iv/k", "--ignore-value")
        self.assertEqual(self.ctl("get", "iv/k", "--print-value-only"), "kept\n")
        err = self.fails("put", "iv/missing", "v", "--ignore-lease")
        self.assertIn("etcdserver: key not found", err)

    def test_txn_interactive(self):
        self.ctl("put", "txn/k1", "v1")
        out = self.ctl("txn", stdin='value("txn/k1") = "v1"\n\nput txn/k2 v2\n\nput txn/k3 v3\n\n')
        self.assertEqual(out.split("\n")[0], "SUCCESS")
        self.assertEqual(self.ctl("get", "txn/k2", "--print-value-only"), "v2\n")
        out = self.ctl("txn", stdin='value("txn/k1") = "other"\n\nput txn/k2 x\n\nput txn/k3 v3\n\n')
        self.assertEqual(out.split("\n")[0], "FAILURE")
        self.assertEqual(self.ctl("get", "txn/k3", "--print-value-only"), "v3\n")
        self.assertEqual(self.ctl("get", "txn/k2", "--print-value-only"), "v2\n")

    def test_read_only_txn_is_a_read(self):
        """A txn that writes nothing is answered without a Raft entry, as etcd answers it (on a
        member of its own, so nothing else adds entries meanwhile)."""
        k = Keeld(os.environ.get("KEEL_BACKEND", "lmdb")).start()
        try:
            k.etcdctl("put", "rt/a", "1")
            k.etcdctl("put", "rt/b", "2")

            def index_and_revision():
                st = json.loads(k.etcdctl("endpoint", "status", "-w", "json")[1])[0]["Status"]
                return st["raftIndex"], st["header"]["revision"]

            before = index_and_revision()
            out = k.etcdctl("txn", stdin='value("rt/a") = "1"\n\nget rt/b\n\nget rt/a\n\n')[1]
            self.assertEqual(out, "SUCCESS\n\nrt/b\n2\n")
            out = k.etcdctl("txn", stdin='value("rt/a") = "9"\n\nget rt/b\n\nget rt/a --prefix\n\n')[1]
            self.assertEqual(out, "FAILURE\n\nrt/a\n1\n")
            self.assertEqual(index_and_revision(), before)
            # A txn with a write still goes through Raft.
            k.etcdctl("txn", stdin='\nput rt/c 3\n\n\n')
            after = index_and_revision()
            self.assertEqual(after[1], before[1] + 1)
            self.assertGreater(after[0], before[0])
            self.assertEqual(k.stop(), 0)
        finally:
            k.close()

    def test_lock_excludes_and_elect_campaigns(self):
        """etcdctl's lock and elect (clientv3's concurrency recipes: leases, txns on create
        revisions, watches on the predecessor) hold against keeld: four holders of one lock,
        each logging its start and end, never overlap."""
        env = dict(os.environ, ETCDCTL_API="3")
        with tempfile.TemporaryDirectory() as d:
            record = os.path.join(d, "record")
            holder = 'echo start >> %s; sleep 0.3; echo end >> %s' % (record, record)
            procs = [subprocess.Popen([ETCDCTL, "--endpoints", self.k.endpoint, "lock", "it-lock", "--",
                                       "sh", "-c", holder], env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE) for _ in range(4)]
            for p in procs:
                self.assertEqual(p.wait(60), 0, p.stderr.read())
            with open(record) as f:
                lines = f.read().split()
        self.assertEqual(lines, ["start", "end"] * 4, "two holders overlapped")
        # elect: a campaigner leads with its proposal, which `elect -l` observes.
        leader = subprocess.Popen([ETCDCTL, "--endpoints", self.k.endpoint, "elect", "it-election", "p1"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            observer = subprocess.Popen([ETCDCTL, "--endpoints", self.k.endpoint, "elect", "-l", "it-election"],
                                        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            try:
                first = [observer.stdout.readline(), observer.stdout.readline()]
            finally:
                observer.kill()
                observer.wait()
            self.assertTrue(first[0].startswith("it-election/"), first)
            self.assertEqual(first[1], "p1\n")
        finally:
            leader.kill()
            leader.wait()

    def test_txn_duplicate_key_is_refused_and_changes_nothing(self):
        err = self.fails("txn", stdin='\nput txn/dup a\nput txn/dup b\n\n\n')
        self.assertIn("etcdserver: duplicate key given in txn request", err)
        self.assertEqual(self.ctl("get", "txn/dup"), "")

    def test_endpoint_and_member_commands(self):
        self.assertIn("is healthy", self.ctl("endpoint", "health") + self.k.etcdctl("endpoint", "health")[2])
        status = json.loads(self.ctl("endpoint", "status", "-w", "json"))[0]["Status"]
        self.assertEqual(status["leader"], status["header"]["member_id"])
        self.assertGreater(int(status["raftIndex"]), 0)
        hashkv = json.loads(self.ctl("endpoint", "hashkv", "-w", "json"))[0]
        self.assertIn("hash", hashkv["HashKV"])
        members = json.loads(self.ctl("member", "list", "-w", "json"))["members"]
        self.assertEqual(len(members), 1)
        self.assertEqual(members[0]["name"], "it")
        self.assertEqual(members[0]["peerURLs"], ["http://127.0.0.1:%d" % self.k.peer_port])
        self.assertIn("Finished defragmenting etcd member", self.ctl("defrag"))
        self.assertEqual(self.ctl("alarm", "list"), "")

    def test_snapshot_save(self):
        # The file is the backend's own copy format (restoring it is for a later issue); the
        # data written before the save must be in it.
        marker = "snapshot-marker-%d" % os.getpid()
        self.ctl("put", "snap/k", marker)
        for i in range(4):
            self.ctl("put", "snap/big%d" % i, "z" * 60000)
        path = os.path.join(self.k.data_dir, "saved.db")
        self.assertIn("Snapshot saved at " + path, self.ctl("snapshot", "save", path))
        with open(path, "rb") as f:
            data = f.read()
        self.assertIn(marker.encode(), data)
        self.assertGreater(len(data), 240000)
        # etcd's shape: a multiple of 512 bytes, then the SHA-256 of them; keel's copy length
        # is the last 8 bytes before the hash.
        import hashlib
        import struct
        self.assertEqual(len(data) % 512, 32)
        self.assertEqual(hashlib.sha256(data[:-32]).digest(), data[-32:])
        copy_length = struct.unpack("<Q", data[-40:-32])[0]
        self.assertLessEqual(copy_length, len(data) - 40)
        self.assertGreater(copy_length, len(data) - 40 - 512)

    def test_empty_key_is_refused(self):
        err = self.fails("put", "", "v")
        self.assertIn("key is not provided", err)


class PythonEtcd3Kv(ClientTestCase):
    def test_put_get_prefix_delete(self):
        self.c.put("py/a", "1")
        self.c.put("py/b", b"\x00\xff binary")
        value, meta = self.c.get("py/b")
        self.assertEqual(value, b"\x00\xff binary")
        self.assertEqual(meta.key, b"py/b")
        self.assertEqual(sorted(m.key for _, m in self.c.get_prefix("py/")), [b"py/a", b"py/b"])
        self.assertTrue(self.c.delete("py/a"))
        self.assertEqual(self.c.get("py/a"), (None, None))
        self.assertEqual(len(list(self.c.get_range("py/", "py0"))), 1)

    def test_transaction(self):
        self.c.put("pytx/k", "v1")
        ok, _ = self.c.transaction(compare=[self.c.transactions.value("pytx/k") == "v1"],
                                   success=[self.c.transactions.put("pytx/k", "v2")],
                                   failure=[self.c.transactions.put("pytx/k", "nope")])
        self.assertTrue(ok)
        self.assertEqual(self.c.get("pytx/k")[0], b"v2")
        ok, responses = self.c.transaction(compare=[self.c.transactions.version("pytx/k") == 7],
                                           success=[],
                                           failure=[self.c.transactions.get("pytx/k")])
        self.assertFalse(ok)
        self.assertEqual(responses[0][0][0], b"v2")

    def test_count_only(self):
        from etcd3 import etcdrpc
        for i in range(3):
            self.c.put("pycount/%d" % i, "v")
        r = self.c.kvstub.Range(etcdrpc.RangeRequest(key=b"pycount/", range_end=b"pycount0",
                                                     count_only=True), timeout=20)
        self.assertEqual(r.count, 3)
        self.assertEqual(len(r.kvs), 0)

    def test_bad_input_gets_etcds_errors_and_changes_nothing(self):
        import grpc
        from etcd3 import etcdrpc
        kv = self.c.kvstub
        before = self.c.status().raft_index
        cases = [
            # (call, request, code, text)
            (kv.Put, etcdrpc.PutRequest(key=b"big", value=b"x" * (1572864 + 100)),
             grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: request is too large"),
            (kv.Put, etcdrpc.PutRequest(key=b"huge", value=b"x" * (2 * 1572864 + 600 * 1024)),
             # gRPC C++ words it "Received message larger than max (N vs. M)"; Go's gRPC adds
             # "grpc: " and a lower-case r. The code is the same; no etcd client maps this text.
             grpc.StatusCode.RESOURCE_EXHAUSTED, "eceived message larger than max"),
            (kv.Put, etcdrpc.PutRequest(key=b"", value=b"v"),
             grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: key is not provided"),
            (kv.Put, etcdrpc.PutRequest(key=b"k", value=b"v", ignore_value=True),
             grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: value is provided"),
            (kv.Put, etcdrpc.PutRequest(key=b"k", lease=5, ignore_lease=True),
             grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: lease is provided"),
            (kv.Put, etcdrpc.PutRequest(key=b"k", value=b"v", lease=12345),
             grpc.StatusCode.NOT_FOUND, "etcdserver: requested lease not found"),
            (kv.Range, etcdrpc.RangeRequest(key=b"k", sort_target=7),
             grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: invalid sort option"),
            (kv.Txn, etcdrpc.TxnRequest(success=[etcdrpc.RequestOp()]),
             grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: key not found"),
            (kv.Txn, etcdrpc.TxnRequest(success=[etcdrpc.RequestOp(request_put=etcdrpc.PutRequest(
                key=b"t%d" % i)) for i in range(129)]),
             grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: too many operations in txn request"),
        ]
        for call, request, code, text in cases:
            with self.assertRaises(grpc.RpcError) as e:
                call(request, timeout=20)
            self.assertEqual(e.exception.code(), code, text)
            self.assertIn(text, e.exception.details())
        for key in ["big", "huge", "k", "t0"]:
            self.assertEqual(self.c.get(key), (None, None), key)
        # Only the refused lease put reached the log (its answer is the error); nothing changed.
        self.assertLessEqual(self.c.status().raft_index, before + 1)

    def test_status(self):
        s = self.c.status()
        self.assertEqual(s.leader.id, s.leader.id)
        self.assertGreater(s.raft_index, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
