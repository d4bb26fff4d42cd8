#!/usr/bin/env python3
"""Tests of the lease checks (leases.py) on made-up histories: a correct one passes; a key gone
before its lease could expire, a key seen after its lease's revoke was acknowledged, and a lease's
keys deleted at two revisions are each caught; and what gives no claim (an unacknowledged put, a
read sent before the put was acknowledged, a revoke sent before the read came back) is not
called a violation."""
import os
import sys
import unittest
from collections import namedtuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from leases import NS, Lease, Read, check_history  # noqa: E402

Event = namedtuple("Event", "type key mod_revision")


class Client:
    def __init__(self):
        self.leases = []
        self.reads = []


def lease(ttl=2, granted=0):
    lz = Lease(process=100, id=0x1f, ttl=ttl, keys=["lease/100/1/a", "lease/100/1/b"])
    lz.renewals.append((granted, ttl))
    lz.put_acked = {"lease/100/1/a": granted + NS // 10, "lease/100/1/b": granted + NS // 5}
    return lz


def client_with(lz, *reads):
    c = Client()
    c.leases.append(lz)
    for key, invoked, completed, present in reads:
        c.reads.append(Read(lz, key, invoked, completed, present))
    return c


class LeaseChecks(unittest.TestCase):
    def test_a_correct_history_passes(self):
        lz = lease()
        lz.renewals.append((1 * NS, 2))  # kept alive at 1 s: there until at least 3 s
        c = client_with(lz, ("lease/100/1/a", NS // 2, NS, True), ("lease/100/1/a", 3 * NS, 3 * NS + 5, False))
        truth = [Event("DELETE", "lease/100/1/a", 9), Event("DELETE", "lease/100/1/b", 9)]
        self.assertEqual(check_history([c], truth), [])

    def test_a_key_gone_before_its_lease_could_expire_is_caught(self):
        lz = lease()
        lz.renewals.append((1 * NS, 2))
        c = client_with(lz, ("lease/100/1/b", 2 * NS, 2 * NS + 5, False))
        found = check_history([c])
        self.assertEqual(len(found), 1, found)
        self.assertIn("was gone in a read answered", found[0])

    def test_no_claim_without_an_acknowledged_put_before_the_read_or_with_a_revoke_sent(self):
        lz = lease()
        del lz.put_acked["lease/100/1/a"]
        c = client_with(lz, ("lease/100/1/a", NS // 2, NS // 2 + 5, False),   # put never acknowledged
                        ("lease/100/1/b", NS // 10, NS // 10 + 5, False))      # sent before the put's answer
        self.assertEqual(check_history([c]), [])
        lz2 = lease()
        lz2.revoke_sent = NS // 2
        c2 = client_with(lz2, ("lease/100/1/a", NS // 3, NS, False))  # the revoke was sent before it came back
        self.assertEqual(check_history([c2]), [])

    def test_a_key_seen_after_an_acknowledged_revoke_is_caught(self):
        lz = lease()
        lz.revoke_sent, lz.revoke_acked = NS // 2, NS // 2 + 100
        c = client_with(lz, ("lease/100/1/a", NS, NS + 5, True))
        found = check_history([c])
        self.assertEqual(len(found), 1, found)
        self.assertIn("after the lease's revoke was acknowledged", found[0])

    def test_keys_of_one_lease_deleted_at_two_revisions_are_caught(self):
        c = client_with(lease())
        truth = [Event("DELETE", "lease/100/1/a", 9), Event("DELETE", "lease/100/1/b", 10)]
        found = check_history([c], truth)
        self.assertEqual(len(found), 1, found)
        self.assertIn("deleted at different revisions [9, 10]", found[0])


if __name__ == "__main__":
    unittest.main()
