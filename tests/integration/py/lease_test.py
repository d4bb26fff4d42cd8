"""etcdctl (Debian's etcd-client) and python3-etcd3 against a real keeld: the Lease service
(grant, attach, time-to-live, list, keep-alive, revoke), lease expiry on the leader, and the
errors etcd gives for bad lease input.

Run with /usr/bin/python3; KEELD names the binary, KEEL_BACKEND the backend plugin.
"""
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from keel_harness import ClientTestCase, MemberTestCase  # noqa: E402


class EtcdctlLease(MemberTestCase):
    def ctl(self, *args, **kw):
        return self.k.etcdctl(*args, **kw)[1]

    def grant(self, ttl):
        out = self.ctl("lease", "grant", str(ttl))
        m = re.fullmatch(r"lease ([0-9a-f]+) granted with TTL\((\d+)s\)\n", out)
        self.assertIsNotNone(m, out)
        self.assertEqual(int(m.group(2)), ttl)
        return m.group(1)

    def test_grant_attach_inspect_keepalive_revoke(self):
        lid = self.grant(10)
        self.assertEqual(self.ctl("put", "--lease=" + lid, "el/k", "v"), "OK\n")
        self.assertEqual(self.ctl("get", "el/k"), "el/k\nv\n")
        ttl = self.ctl("lease", "timetolive", lid, "--keys")
        self.assertRegex(ttl, r"lease %s granted with TTL\(10s\), remaining\((\d+)s\), "
                              r"attached keys\(\[el/k\]\)" % lid)
        remaining = int(re.search(r"remaining\((\d+)s\)", ttl).group(1))
        self.assertTrue(0 < remaining <= 10, ttl)
        listing = self.ctl("lease", "list")
        self.assertRegex(listing, r"found \d+ leases\n")
        self.assertIn(lid, listing.split())
        self.assertIn("lease %s keepalived with TTL(10)" % lid,
                      self.ctl("lease", "keep-alive", "--once", lid))
        self.assertIn("lease %s revoked" % lid, self.ctl("lease", "revoke", lid))
        self.assertEqual(self.ctl("get", "el/k"), "")
        self.assertNotIn(lid, self.ctl("lease", "list").split())
        self.assertIn("lease %s already expired" % lid, self.ctl("lease", "timetolive", lid))

    def test_revoke_unknown_fails(self):
        code, out, err = self.k.etcdctl("lease", "revoke", "deadbeef", check=False)
        self.assertNotEqual(code, 0, out)
        self.assertIn("etcdserver: requested lease not found", err)


class PythonEtcd3Lease(ClientTestCase):
    def test_lease_expires_and_deletes_its_keys(self):
        lease = self.c.lease(2)  # the minimum TTL (1.5 x the 1 s election timeout)
        self.assertEqual(lease.ttl, 2)
        self.c.put("pyl/exp", "v", lease=lease)
        value, meta = self.c.get("pyl/exp")
        self.assertEqual(value, b"v")
        self.assertEqual(meta.lease_id, lease.id)
        self.assertEqual(list(lease.keys), [b"pyl/exp"])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and self.c.get("pyl/exp") != (None, None):
            time.sleep(0.2)
        self.assertEqual(self.c.get("pyl/exp"), (None, None), "the key outlived its lease")
        self.assertEqual(lease.remaining_ttl, -1)
        self.assertNotIn(lease.id, [l.ID for l in self._leases()])

    def _leases(self):
        from etcd3 import etcdrpc
        return self.c.leasestub.LeaseLeases(etcdrpc.LeaseLeasesRequest(), timeout=20).leases

    def test_short_ttl_raised_to_minimum(self):
        lease = self.c.lease(1)
        self.assertEqual(lease.ttl, 2)
        lease.revoke()

    def test_keepalive(self):
        lease = self.c.lease(30)
        replies = lease.refresh()
        self.assertEqual(len(replies), 1)
        self.assertEqual(replies[0].ID, lease.id)
        self.assertEqual(replies[0].TTL, 30)
        self.assertGreater(replies[0].header.revision, 0)
        lease.revoke()

    def test_keepalive_stream_many_requests(self):
        from etcd3 import etcdrpc
        lease = self.c.lease(30)
        reqs = [etcdrpc.LeaseKeepAliveRequest(ID=lease.id if i % 2 == 0 else 987654321)
                for i in range(50)]
        replies = list(self.c.leasestub.LeaseKeepAlive(iter(reqs), timeout=20))
        self.assertEqual(len(replies), 50)
        for i, r in enumerate(replies):
            if i % 2 == 0:
                self.assertEqual((r.ID, r.TTL), (lease.id, 30))
            else:
                self.assertEqual((r.ID, r.TTL), (987654321, 0))
        lease.revoke()

    def test_keepalive_stream_long(self):
        # More requests than the server queues: it pauses reading while answers wait.
        from etcd3 import etcdrpc
        lease = self.c.lease(30)
        reqs = (etcdrpc.LeaseKeepAliveRequest(ID=lease.id) for _ in range(3000))
        replies = list(self.c.leasestub.LeaseKeepAlive(reqs, timeout=60))
        self.assertEqual(len(replies), 3000)
        self.assertTrue(all(r.ID == lease.id and r.TTL == 30 for r in replies))
        lease.revoke()

    def test_keepalive_stream_cancelled(self):
        import threading
        from etcd3 import etcdrpc
        lease = self.c.lease(30)
        stop = threading.Event()

        def forever():
            while not stop.is_set():
                yield etcdrpc.LeaseKeepAliveRequest(ID=lease.id)
                time.sleep(0.01)

        call = self.c.leasestub.LeaseKeepAlive(forever(), timeout=60)
        got = 0
        for r in call:
            self.assertEqual(r.TTL, 30)
            got += 1
            if got == 20:
                call.cancel()
                break
        stop.set()
        # The member still serves keep-alives and everything else.
        self.assertEqual(lease.refresh()[0].TTL, 30)
        lease.revoke()

    def test_keepalive_keeps_lease_alive(self):
        lease = self.c.lease(2)
        self.c.put("pyl/kept", "v", lease=lease)
        end = time.monotonic() + 5
        while time.monotonic() < end:
            self.assertEqual(lease.refresh()[0].TTL, 2)
            time.sleep(0.5)
        self.assertEqual(self.c.get("pyl/kept")[0], b"v")
        lease.revoke()
        self.assertEqual(self.c.get("pyl/kept"), (None, None))

    def test_keepalive_unknown_lease_gives_ttl_0(self):
        replies = list(self.c.refresh_lease(424242))
        self.assertEqual(len(replies), 1)
        self.assertEqual(replies[0].ID, 424242)
        self.assertEqual(replies[0].TTL, 0)

    def test_time_to_live_unknown_lease(self):
        from etcd3 import etcdrpc
        r = self.c.leasestub.LeaseTimeToLive(etcdrpc.LeaseTimeToLiveRequest(ID=5555, keys=True),
                                             timeout=20)
        self.assertEqual((r.ID, r.TTL), (5555, -1))

    def test_grant_with_chosen_id(self):
        lease = self.c.lease(20, lease_id=0x1234)
        self.assertEqual(lease.id, 0x1234)
        info = self.c.get_lease_info(0x1234)
        self.assertEqual(info.grantedTTL, 20)
        self.assertTrue(0 < info.TTL <= 20)
        lease.revoke()

    def test_bad_input_gets_etcds_errors(self):
        import grpc
        from etcd3 import etcdrpc
        ls, kv = self.c.leasestub, self.c.kvstub
        ls.LeaseGrant(etcdrpc.LeaseGrantRequest(TTL=60, ID=777), timeout=20)
        cases = [
            (ls.LeaseGrant, etcdrpc.LeaseGrantRequest(TTL=9000000001),
             grpc.StatusCode.OUT_OF_RANGE, "etcdserver: too large lease TTL"),
            (ls.LeaseGrant, etcdrpc.LeaseGrantRequest(TTL=60, ID=777),
             grpc.StatusCode.FAILED_PRECONDITION, "etcdserver: lease already exists"),
            (kv.Put, etcdrpc.PutRequest(key=b"pyl/bad", value=b"v", lease=31337),
             grpc.StatusCode.NOT_FOUND, "etcdserver: requested lease not found"),
            (ls.LeaseRevoke, etcdrpc.LeaseRevokeRequest(ID=31337),
             grpc.StatusCode.NOT_FOUND, "etcdserver: requested lease not found"),
        ]
        for call, request, code, text in cases:
            with self.assertRaises(grpc.RpcError) as e:
                call(request, timeout=20)
            self.assertEqual(e.exception.code(), code, text)
            self.assertIn(text, e.exception.details())
        self.assertEqual(self.c.get("pyl/bad"), (None, None))
        # The largest TTL allowed is granted.
        big = ls.LeaseGrant(etcdrpc.LeaseGrantRequest(TTL=9000000000), timeout=20)
        self.assertEqual(big.TTL, 9000000000)
        ls.LeaseRevoke(etcdrpc.LeaseRevokeRequest(ID=big.ID), timeout=20)
        ls.LeaseRevoke(etcdrpc.LeaseRevokeRequest(ID=777), timeout=20)


if __name__ == "__main__":
    unittest.main(verbosity=2)
