"""keeld members forming a cluster over a transport plugin (KEEL_TRANSPORT), driven by real etcd
clients: etcdctl and python3-etcd3 against every member. The members of one cluster mix the two
backends (LMDB and LevelDB), so HashKV agreeing across them also checks the engines agree.

What this proves: a cluster started with etcd's flags elects a leader, shows the member ids etcd
would compute, replicates every write to every member (a follower forwards proposals and asks the
leader for linearizable reads), serves watches on followers, keeps serving through a SIGKILLed
leader without losing an acknowledged write, catches up a follower that was stopped (by the log,
or by the leader's store when it fell behind the log), hands leadership over on MoveLeader, fails
the proposals a leader change strands at once ("leader changed"), refuses a member started
with another cluster token ("cluster ID mismatch" in the logs), and refuses to start a member
anew under the id of one that lost its data (etcd's "has already been bootstrapped"). Membership
changes at run time as etcd's (etcdctl member add/remove/update/promote, with etcd 3.4's answers
and --strict-reconfig-check): a cluster grows from one member to five through learners while a
client writes, shrinks to three, replaces a member whose data dir was lost; a removed member
exits; a joiner that --initial-cluster misnames is refused; a learner serves only what etcd's
serves; the survivor of a lost quorum goes on alone with --force-new-cluster and grows back.
"""
import hashlib
import json
import os
import re
import shutil
import signal
import struct
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from keel_harness import Cluster, Keeld, free_port, metric  # noqa: E402

TRANSPORT = os.environ.get("KEEL_TRANSPORT", "grpc")
BACKENDS = ("lmdb", "leveldb")


def etcd_member_id(peer_urls, token):
    """The id etcd gives a member: SHA-1 of its sorted peer URLs and the cluster token."""
    digest = hashlib.sha1(("".join(sorted(peer_urls)) + token).encode()).digest()
    return struct.unpack(">Q", digest[:8])[0]


def client(member):
    import etcd3
    return etcd3.client(host="127.0.0.1", port=member.client_port, timeout=20)


def wait_for(what, check, timeout=60, interval=0.1):
    """Polls check() until it returns a true value (returned), failing after `timeout` s."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except Exception as e:  # a member still electing or restarting
            last = e
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def hashkv(member, revision):
    _, out, _ = member.etcdctl("endpoint", "hashkv", "--rev", str(revision), "-w", "json")
    return json.loads(out)[0]["HashKV"]["hash"]


class ClusterCase(unittest.TestCase):
    size = 3
    extra_args = ()

    def setUp(self):
        self.cluster = Cluster(self.size, backends=BACKENDS, transport=TRANSPORT,
                               extra_args=self.extra_args).start()

    def tearDown(self):
        try:
            for m in self.cluster.members:
                if m.alive():
                    code = m.stop()
                    self.assertEqual(code, 0, "%s exited %r on SIGTERM:\n%s" % (m.name, code, m.log()[-4000:]))
        finally:
            self.cluster.close()

    def token(self):
        args = self.cluster.members[0].extra_args
        return args[args.index("--initial-cluster-token") + 1]

    def add(self, via, learner=True, backend=None):
        """Adds a member through `via` (retrying while etcd's 5 s of connection are not up yet),
        starts it as etcd's operators do (with a fresh data dir and the ETCD_INITIAL_CLUSTER
        etcdctl printed), and returns it with its id."""
        n = len(self.cluster.members)
        new = Keeld(backend or BACKENDS[n % len(BACKENDS)], name="m%d" % n,
                    extra_args=["--transport", TRANSPORT, "--initial-cluster-state", "existing",
                                "--initial-cluster-token", self.token()])
        self.cluster.members.append(new)  # so that tearDown stops it

        def try_add():
            code, out, err = via.etcdctl("member", "add", new.name, "--peer-urls", new.peer_url,
                                         *(("--learner",) if learner else ()), check=False)
            if code == 0:
                return out
            self.assertIn("etcdserver: unhealthy cluster", err)
            return None
        out = wait_for("%s to be added" % new.name, try_add)
        new.initial_cluster = re.search(r'ETCD_INITIAL_CLUSTER="([^"]*)"', out).group(1)
        new.start()
        return new, int(out.split()[1], 16)

    def promote(self, via, member_id):
        def try_promote():
            code, out, err = via.etcdctl("member", "promote", "%x" % member_id, check=False)
            if code == 0:
                return out
            self.assertIn("can only promote a learner member which is in sync with leader", err)
            return None
        out = wait_for("%x to be promoted" % member_id, try_promote)
        self.assertRegex(out, r"^Member +%x promoted in cluster +[0-9a-f]+" % member_id)

    def revisions_agree(self, members):
        revs = set()
        for m in members:
            st = self.cluster.status(m)
            if st is None:
                return False
            revs.add(st["header"]["revision"])
        return revs.pop() if len(revs) == 1 else False

    def assert_same_state(self, members):
        """Every member at one revision with one HashKV there."""
        rev = wait_for("the members to reach one revision", lambda: self.revisions_agree(members))
        hashes = {m.name: hashkv(m, rev) for m in members}
        self.assertEqual(len(set(hashes.values())), 1, "HashKV at revision %d differs: %r" % (rev, hashes))
        return rev


class ThreeMembers(ClusterCase):
    def test_members_show_etcds_ids_and_serve_as_one(self):
        c = self.cluster
        leader = c.leader()
        token = c.members[0].extra_args[c.members[0].extra_args.index("--initial-cluster-token") + 1]
        # MemberList: every member with the id etcd would give it, its name and its client URL
        # (published through the log once it saw a leader).
        for m in c.members:
            _, out, _ = m.etcdctl("member", "list", "-w", "json")
            listed = {x["ID"]: x for x in json.loads(out)["members"]}
            for other in c.members:
                want = etcd_member_id([other.peer_url], token)
                self.assertIn(want, listed, "member list on %s: %r" % (m.name, listed))
                self.assertEqual(listed[want]["peerURLs"], [other.peer_url])
            wait_for("every member's client URL in %s's member list" % m.name, lambda m=m: all(
                x.get("clientURLs") for x in json.loads(m.etcdctl("member", "list", "-w", "json")[1])["members"]))
        # etcdctl's --cluster forms find every member through MemberList.
        _, out, _ = c.members[1].etcdctl("endpoint", "status", "--cluster", "-w", "json")
        rows = json.loads(out)
        self.assertEqual(len(rows), 3)
        self.assertEqual({r["Status"]["leader"] for r in rows}, {c.status(leader)["header"]["member_id"]})
        _, out, err = c.members[2].etcdctl("endpoint", "health", "--cluster")
        self.assertEqual((out + err).count("is healthy"), 3, out + err)
        # Each member measures its round trip to each peer (probed every 4 s), labelled as etcd
        # labels peers: the id in hex without leading zeros.
        ids = {m.name: c.status(m)["header"]["member_id"] for m in c.members}
        for m in c.members:
            for other in c.members:
                if other is m:
                    continue
                wait_for("%s's round trip to %s measured" % (m.name, other.name), lambda m=m, other=other: metric(
                    m, "etcd_network_peer_round_trip_time_seconds_count", To="%x" % ids[other.name]), timeout=30)
                self.assertGreater(metric(m, "etcd_network_peer_sent_bytes_total", To="%x" % ids[other.name]), 0)

        # A write on each member, read back from each: linearizable, then serializable.
        clients = [client(m) for m in c.members]
        try:
            for i, cl in enumerate(clients):
                cl.put("k%d" % i, "v%d" % i)
            for cl in clients:
                for i in range(3):
                    value, _ = cl.get("k%d" % i)
                    self.assertEqual(value, ("v%d" % i).encode())
                    value, _ = cl.get("k%d" % i, serializable=True)
                    self.assertEqual(value, ("v%d" % i).encode())
            # etcdctl on a follower: a txn and a delete forwarded to the leader.
            follower = c.follower(leader)
            follower.etcdctl("put", "fk", "fv")
            _, out, _ = leader.etcdctl("get", "fk", "--print-value-only")
            self.assertEqual(out.strip(), "fv")
            follower.etcdctl("del", "fk")
            _, out, _ = c.members[0].etcdctl("get", "fk", "--consistency", "l", "--print-value-only")
            self.assertEqual(out.strip(), "")
        finally:
            for cl in clients:
                cl.close()
        self.assert_same_state(c.members)

    def test_a_watch_on_a_follower_sees_the_leaders_writes(self):
        c = self.cluster
        leader = c.leader()
        follower = c.follower(leader)
        fc, lc = client(follower), client(leader)
        try:
            events, cancel = fc.watch_prefix("w/")
            for i in range(20):
                lc.put("w/%02d" % i, str(i))
            seen = []
            for ev in events:
                seen.append((ev.key.decode(), ev.value.decode()))
                if len(seen) == 20:
                    break
            cancel()
            self.assertEqual(seen, [("w/%02d" % i, str(i)) for i in range(20)])
        finally:
            fc.close()
            lc.close()

    def test_sigkill_of_the_leader_under_writes_loses_no_acknowledged_write(self):
        c = self.cluster
        old = c.leader()
        acked = []
        stop = threading.Event()
        errors = []

        def writer(member, prefix):
            cl = client(member)
            n = 0
            try:
                while not stop.is_set() and n < 100000:
                    try:
                        cl.put("%s/%06d" % (prefix, n), "x")
                        acked.append("%s/%06d" % (prefix, n))
                    except Exception as e:  # no leader for a moment: etcd's errors
                        errors.append(repr(e))
                        time.sleep(0.05)
                    n += 1
            finally:
                cl.close()

        followers = [m for m in c.members if m is not old]
        threads = [threading.Thread(target=writer, args=(m, m.name)) for m in followers]
        threads.append(threading.Thread(target=writer, args=(old, old.name)))
        for t in threads:
            t.start()
        try:
            wait_for("writes before the kill", lambda: len(acked) >= 200)
            old.kill()
            before = len(acked)
            new = c.leader(among=followers, timeout=30)
            self.assertIsNot(new, old)
            wait_for("writes after the new leader", lambda: len(acked) >= before + 200)
        finally:
            stop.set()
            for t in threads:
                t.join(60)
        old.start()
        self.assert_same_state(c.members)
        for m in c.members:
            cl = client(m)
            try:
                keys = set()
                for prefix in [x.name for x in c.members]:
                    keys |= {meta.key.decode() for _, meta in cl.get_prefix(prefix + "/", keys_only=True)}
                missing = [k for k in acked if k not in keys]
                self.assertEqual(missing, [], "%s lacks %d acknowledged writes" % (m.name, len(missing)))
            finally:
                cl.close()

    def test_a_stopped_follower_catches_up_by_the_log(self):
        c = self.cluster
        leader = c.leader()
        follower = c.follower(leader)
        lc = client(leader)
        written = 0
        try:
            # SIGSTOP for 10 s under writes: the follower misses appends and heartbeats alike.
            follower.proc.send_signal(signal.SIGSTOP)
            try:
                until = time.monotonic() + 10
                while time.monotonic() < until and written < 3000:
                    lc.put("stopped/%04d" % written, "v")
                    written += 1
            finally:
                follower.proc.send_signal(signal.SIGCONT)
            self.assert_same_state(c.members)
            fc = client(follower)
            try:
                self.assertEqual(len(list(fc.get_prefix("stopped/", serializable=True))), written)
            finally:
                fc.close()
        finally:
            lc.close()


    def test_a_follower_that_lost_its_data_is_refused_as_etcd_refuses_it(self):
        # etcd 3.4's isMemberBootstrapped: a member started anew (empty data dir, state "new") asks
        # its peers for the members, and refuses to start when the cluster knows it as started
        # (its client URLs published): under its old id it could lose acknowledged writes.
        c = self.cluster
        leader = c.leader()
        follower = c.follower(leader)
        token = follower.extra_args[follower.extra_args.index("--initial-cluster-token") + 1]
        wait_for("every member's client URLs published", lambda: all(
            x.get("clientURLs") for x in json.loads(leader.etcdctl("member", "list", "-w", "json")[1])["members"]))
        lc = client(leader)
        try:
            lc.put("before", "v")
            self.assertEqual(follower.stop(), 0)
            data_dir = os.path.join(follower.data_dir, "member-data")
            shutil.rmtree(data_dir)
            follower.launch()
            code = follower.proc.wait(timeout=60)
            run_log = follower.log()[follower._offset:]
            self.assertEqual(code, 1, run_log)
            self.assertIn("member %x has already been bootstrapped" % etcd_member_id([follower.peer_url], token),
                          run_log)
            self.assertFalse(os.path.exists(os.path.join(data_dir, "member", "wal")), "a refused member wrote a WAL")
            # The two left keep serving.
            lc.put("after", "v")
            others = [m for m in c.members if m is not follower]
            for m in others:
                mc = client(m)
                try:
                    self.assertEqual(mc.get("after")[0], b"v")
                finally:
                    mc.close()
        finally:
            lc.close()


class CatchUpBySnapshot(ClusterCase):
    """A follower that misses more than the leader's log keeps gets the leader's store instead
    (a snapshot every 40 entries, 10 kept behind it). The members mix LMDB and LevelDB, so the
    store crosses engines."""
    extra_args = ("--snapshot-count", "40", "--experimental-snapshot-catchup-entries", "10")

    def write_while_stopped(self, follower, lc, n):
        follower.proc.send_signal(signal.SIGSTOP)
        try:
            for i in range(n):
                if i % 10 == 9:
                    lc.delete("snap/%04d" % (i - 1))
                else:
                    lc.put("snap/%04d" % i, "v%d" % i)
        finally:
            follower.proc.send_signal(signal.SIGCONT)

    def test_a_follower_behind_the_log_gets_the_store_and_its_watch_misses_nothing(self):
        c = self.cluster
        leader = c.leader()
        follower = c.follower(leader)
        lc, fc = client(leader), client(follower)
        try:
            lc.put("snap/first", "1")
            events, cancel = fc.watch_prefix("snap/")
            self.write_while_stopped(follower, lc, 300)
            rev = self.assert_same_state(c.members)
            self.assertIn("installed the leader's snapshot", follower.log())
            self.assertIn("took the snapshot", leader.log())
            leader_id = c.status(leader)["header"]["member_id"]
            follower_id = c.status(follower)["header"]["member_id"]
            self.assertGreaterEqual(metric(leader, "etcd_network_snapshot_send_success", To="%x" % follower_id), 1)
            self.assertGreaterEqual(metric(
                leader, "etcd_network_snapshot_send_total_duration_seconds_count", To="%x" % follower_id), 1)
            self.assertGreaterEqual(metric(
                follower, "etcd_network_snapshot_receive_success", From="%x" % leader_id), 1)
            # The watch on the follower saw every event, in order, across the store's swap.
            seen = []
            for ev in events:
                seen.append(ev.mod_revision)
                if ev.mod_revision >= rev:
                    break
            cancel()
            self.assertEqual(seen, sorted(set(seen)))
            self.assertEqual(len(seen), 300)  # 270 puts and 30 deletes, after the first put
            self.assertEqual(len(list(fc.get_prefix("snap/", serializable=True))), 1 + 270 - 30)
            # The cluster goes on with the follower in it, and it restarts on the new store.
            follower.stop()
            follower.launch()
            follower.wait_ready()
            lc.put("snap/after", "x")
            self.assert_same_state(c.members)
        finally:
            lc.close()
            fc.close()

    def test_a_follower_restarted_behind_the_log_catches_up_by_snapshot(self):
        c = self.cluster
        leader = c.leader()
        follower = c.follower(leader)
        self.assertEqual(follower.stop(), 0)
        lc = client(leader)
        try:
            for i in range(200):
                lc.put("down/%04d" % i, "v")
        finally:
            lc.close()
        follower.launch()
        follower.wait_ready()
        self.assert_same_state(c.members)
        self.assertIn("installed the leader's snapshot", follower.log())
        # SIGKILL right after: the WAL's leader snapshot and the store it brought survive together.
        follower.kill()
        follower.launch()
        follower.wait_ready()
        self.assert_same_state(c.members)


class Leases(ClusterCase):
    def test_leases_work_on_every_member(self):
        """A follower asks the leader to keep a lease alive and for its TTL (etcd forwards both);
        only the leader expires leases, and the expiry reaches every member."""
        c = self.cluster
        leader = c.leader()
        follower = c.follower(leader)
        _, out, _ = follower.etcdctl("lease", "grant", "60")
        lease = out.split()[1]  # "lease 694d... granted with TTL(60s)"
        follower.etcdctl("put", "--lease", lease, "leased", "v")
        _, out, _ = follower.etcdctl("lease", "keep-alive", "--once", lease)
        self.assertIn("keepalived with TTL(60)", out)
        _, out, _ = follower.etcdctl("lease", "timetolive", "--keys", lease)
        self.assertIn("granted with TTL(60s)", out)
        self.assertIn("attached keys([leased])", out)
        # An unknown lease: etcd's answers, from a follower as from the leader.
        code, out, err = follower.etcdctl("lease", "keep-alive", "--once", "1234abcd", check=False)
        self.assertNotEqual(code, 0)
        self.assertIn("requested lease not found", out + err)
        _, out, _ = follower.etcdctl("lease", "timetolive", "1234abcd")
        self.assertIn("already expired", out)

        # python3-etcd3 on the other follower: a lease kept alive through its refresh stream.
        other = next(m for m in c.members if m is not leader and m is not follower)
        oc = client(other)
        try:
            short = oc.lease(2)
            oc.put("short", "v", lease=short)
            for _ in range(3):
                refreshed = short.refresh()[0]
                self.assertEqual(refreshed.TTL, 2)
            # Left alone, it expires: the leader revokes it, and the key goes on every member.
            for m in c.members:
                mc = client(m)
                try:
                    wait_for("the expired lease's key gone on %s" % m.name,
                             lambda mc=mc: mc.get("short")[0] is None, timeout=30)
                finally:
                    mc.close()
            _, out, _ = other.etcdctl("lease", "timetolive", "%x" % short.id)
            self.assertIn("already expired", out)
        finally:
            oc.close()


class LeaderChanges(ClusterCase):
    """etcd's MoveLeader, and what a leader change strands: a proposal handed to a leader that is
    gone fails at once with etcd's "leader changed" rather than after the request timeout."""

    def move_leader(self, member, target):
        """Maintenance.MoveLeader on `member` through python3-etcd3's stubs: (code, details)."""
        import grpc
        from etcd3 import etcdrpc as rpc
        with grpc.insecure_channel("127.0.0.1:%d" % member.client_port) as channel:
            try:
                rpc.MaintenanceStub(channel).MoveLeader(rpc.MoveLeaderRequest(targetID=target), timeout=30)
                return grpc.StatusCode.OK, ""
            except grpc.RpcError as e:
                return e.code(), e.details()

    def test_move_leader_hands_leadership_to_a_follower(self):
        import grpc
        c = self.cluster
        leader = c.leader()
        target = c.follower(leader)
        leader_id = c.status(leader)["header"]["member_id"]
        target_id = c.status(target)["header"]["member_id"]
        _, out, _ = leader.etcdctl("move-leader", "%x" % target_id)
        self.assertEqual(out, "Leadership transferred from %x to %x\n" % (leader_id, target_id))
        self.assertIs(c.leader(), target)
        # The old leader forwards writes to the new one; a MoveLeader there is refused.
        leader.etcdctl("put", "moved", "yes")
        _, out, _ = target.etcdctl("get", "moved", "--print-value-only")
        self.assertEqual(out.strip(), "yes")
        self.assertEqual(self.move_leader(leader, leader_id),
                         (grpc.StatusCode.FAILED_PRECONDITION, "etcdserver: not leader"))
        self.assertEqual(self.move_leader(target, 0x1234),
                         (grpc.StatusCode.FAILED_PRECONDITION, "etcdserver: bad leader transferee"))
        # To itself: nothing to do.
        self.assertEqual(self.move_leader(target, target_id), (grpc.StatusCode.OK, ""))
        # And back: the old leader leads again.
        self.assertEqual(self.move_leader(target, leader_id), (grpc.StatusCode.OK, ""))
        self.assertIs(c.leader(), leader)
        self.assert_same_state(c.members)

    def test_a_proposal_on_a_leader_that_lost_its_followers_fails_with_leader_changed(self):
        c = self.cluster
        leader = c.leader()
        followers = [m for m in c.members if m is not leader]
        for m in followers:
            m.proc.send_signal(signal.SIGSTOP)
        try:
            # The leader appends it but cannot commit it; it steps down once it has not heard
            # from a quorum for an election timeout (check-quorum), well before the request
            # timeout, and the write fails then.
            code, out, err = leader.etcdctl("put", "stranded", "v", "--command-timeout=60s", check=False)
        finally:
            for m in followers:
                m.proc.send_signal(signal.SIGCONT)
        self.assertNotEqual(code, 0, out)
        self.assertIn("etcdserver: leader changed", err)
        self.assertIn("proposals it may have lost fail", leader.log())
        self.assert_same_state(c.members)

    def test_a_proposal_forwarded_to_a_lost_leader_fails_with_leader_changed(self):
        c = self.cluster
        leader = c.leader()
        follower = c.follower(leader)
        leader.proc.send_signal(signal.SIGSTOP)
        try:
            # Forwarded to the stopped leader, which never appends it: once the followers elect
            # another leader, the write fails rather than waiting out the request timeout.
            code, out, err = follower.etcdctl("put", "forwarded", "v", "--command-timeout=60s", check=False)
            self.assertNotEqual(code, 0, out)
            self.assertIn("etcdserver: leader changed", err)
            c.leader(among=[m for m in c.members if m is not leader])
            follower.etcdctl("put", "after", "v")
        finally:
            leader.proc.send_signal(signal.SIGCONT)
        self.assert_same_state(c.members)
        _, out, _ = leader.etcdctl("get", "after", "--print-value-only")
        self.assertEqual(out.strip(), "v")


class FiveMembers(ClusterCase):
    size = 5

    def test_two_members_lost_and_the_rest_still_serve(self):
        c = self.cluster
        leader = c.leader()
        lost = [next(m for m in c.members if m is not leader), leader]  # a follower and the leader
        for m in lost:
            m.kill()
        rest = [m for m in c.members if m not in lost]
        c.leader(among=rest)
        cl = client(rest[0])
        try:
            cl.put("five", "still")
        finally:
            cl.close()
        for m in rest:
            cm = client(m)
            try:
                self.assertEqual(cm.get("five")[0], b"still")
            finally:
                cm.close()
        for m in lost:
            m.start()
        self.assert_same_state(c.members)


class Membership(ClusterCase):
    """etcd's membership changes through etcdctl member add/remove/update/promote, with etcd
    3.4's answers (code and text) for every refusal, and the members unchanged after it."""

    def members(self, member):
        """{id: (name, peer URLs, learner)} as `member` lists them."""
        out = json.loads(member.etcdctl("member", "list", "-w", "json")[1])["members"]
        return {m["ID"]: (m.get("name", ""), tuple(m["peerURLs"]), bool(m.get("isLearner"))) for m in out}

    def refused(self, member, *args):
        """Runs an etcdctl member command that must fail; returns its error line."""
        code, out, err = member.etcdctl("member", *args, check=False)
        self.assertNotEqual(code, 0, out)
        return err.strip().splitlines()[-1]

    def remove_and_see_it_exit(self, via, gone, gone_id):
        """Removes `gone` through `via`: etcdctl's answer, then `gone` exiting 0 with etcd's message."""
        _, out, _ = via.etcdctl("member", "remove", "%x" % gone_id)
        self.assertRegex(out, r"^Member +%x removed from cluster +[0-9a-f]+" % gone_id)
        self.assertEqual(gone.proc.wait(timeout=60), 0, gone.log()[-4000:])
        self.assertIn("the member has been permanently removed from the cluster", gone.log())

    def healthy(self, leader):
        """Waits until the leader counts every member connected for etcd's 5 s (a learner add
        that succeeds is then removed again: it is what checks it without changing much)."""
        def try_add():
            code, out, err = leader.etcdctl("member", "add", "probe", "--learner",
                                            "--peer-urls", "http://127.0.0.1:%d" % free_port(), check=False)
            if code == 0:
                return int(out.split()[1], 16)
            self.assertIn("etcdserver: unhealthy cluster", err)
            return None
        probe = wait_for("the cluster to be healthy for a membership change", try_add)
        leader.etcdctl("member", "remove", "%x" % probe)

    def test_changes_and_refusals_with_etcds_answers(self):
        c = self.cluster
        leader = c.leader()
        follower = c.follower(leader)
        wait_for("every member's client URLs published", lambda: all(
            x.get("clientURLs") for x in json.loads(leader.etcdctl("member", "list", "-w", "json")[1])["members"]))
        self.healthy(leader)
        before = self.members(leader)
        self.assertEqual(len(before), 3)

        # A learner added on a follower (proposed through the leader) is listed on every member.
        learner_url = "http://127.0.0.1:%d" % free_port()
        _, out, _ = follower.etcdctl("member", "add", "l1", "--learner", "--peer-urls", learner_url)
        self.assertRegex(out, r"^Member +[0-9a-f]+ added to cluster +[0-9a-f]+\n")
        self.assertIn('ETCD_INITIAL_CLUSTER_STATE="existing"', out)
        learner_id = int(out.split()[1], 16)
        expected = dict(before)
        expected[learner_id] = ("", (learner_url,), True)
        for m in c.members:
            wait_for("%s to list the learner" % m.name, lambda: self.members(m) == expected)

        # etcd's refusals, each leaving the members as they were.
        refusals = [
            (("add", "l2", "--learner", "--peer-urls", "http://127.0.0.1:%d" % free_port()),
             "etcdserver: too many learner members in cluster"),
            (("add", "dup", "--peer-urls", leader.peer_url), "etcdserver: Peer URLs already exists"),
            (("remove", "1234"), "etcdserver: member not found"),
            (("update", "1234", "--peer-urls", "http://127.0.0.1:1"), "etcdserver: member not found"),
            (("update", "%x" % learner_id, "--peer-urls", leader.peer_url), "etcdserver: Peer URLs already exists"),
            (("promote", "1234"), "etcdserver: member not found"),
            (("promote", "%x" % c.status(follower)["header"]["member_id"]),
             "etcdserver: can only promote a learner member"),
            # It never started: its log is far behind the leader's.
            (("promote", "%x" % learner_id), "etcdserver: can only promote a learner member which is in sync with leader"),
        ]
        for member in (leader, follower):
            for args, text in refusals:
                with self.subTest(on=member.name, args=args):
                    self.assertEqual(self.refused(member, *args), "Error: " + text)
                    self.assertEqual(self.members(member), expected)

        # URLs etcdctl would not send (it parses them first), through the gRPC API.
        import grpc
        from etcd3 import etcdrpc
        with grpc.insecure_channel(leader.endpoint) as channel:
            cluster = etcdrpc.ClusterStub(channel)
            for urls in ([], ["127.0.0.1:1"], ["http://127.0.0.1:1/path"], ["http://127.0.0.1:1", "ftp://x"]):
                with self.subTest(urls=urls):
                    with self.assertRaises(grpc.RpcError) as e:
                        cluster.MemberAdd(etcdrpc.MemberAddRequest(peerURLs=urls), timeout=20)
                    self.assertEqual((e.exception.code(), e.exception.details()),
                                     (grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: given member URLs are invalid"))
                    with self.assertRaises(grpc.RpcError) as e:
                        cluster.MemberUpdate(etcdrpc.MemberUpdateRequest(ID=learner_id, peerURLs=urls), timeout=20)
                    self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(self.members(leader), expected)

        # MemberUpdate moves the learner; MemberRemove takes it out again.
        moved_url = "http://127.0.0.1:%d" % free_port()
        _, out, _ = follower.etcdctl("member", "update", "%x" % learner_id, "--peer-urls", moved_url)
        self.assertRegex(out, r"^Member +%x updated in cluster +[0-9a-f]+" % learner_id)
        expected[learner_id] = ("", (moved_url,), True)
        for m in c.members:
            wait_for("%s to list the moved learner" % m.name, lambda: self.members(m) == expected)
        _, out, _ = leader.etcdctl("member", "remove", "%x" % learner_id)
        self.assertRegex(out, r"^Member +%x removed from cluster +[0-9a-f]+" % learner_id)
        for m in c.members:
            wait_for("%s to list the members as before" % m.name, lambda: self.members(m) == before)
        # A removed id never comes back.
        self.assertEqual(self.refused(leader, "remove", "%x" % learner_id), "Error: etcdserver: member not found")
        leader.etcdctl("put", "after-changes", "v")
        self.assert_same_state(c.members)

    def test_a_learner_serves_only_status_serializable_reads_and_snapshots(self):
        """etcd's learner answers Status, serializable Range and the Snapshot stream; every other
        call gets Unavailable "etcdserver: rpc not supported for learner" and changes nothing, and
        leadership cannot move to it. Promoted, it serves everything. etcd's learner metrics say
        which member is a learner and count the leader's promotions."""
        import grpc
        from etcd3 import etcdrpc as rpc
        c = self.cluster
        leader = c.leader()
        leader.etcdctl("put", "k", "v")
        learner, learner_id = self.add(leader)
        wait_for("the learner to hold k", lambda: learner.etcdctl(
            "get", "k", "--consistency=s", "--print-value-only")[1].strip() == "v")
        self.assertTrue(c.status(learner).get("isLearner"))

        def answer(call):
            try:
                call()
                return grpc.StatusCode.OK, ""
            except grpc.RpcError as e:
                return e.code(), e.details()
        refusal = (grpc.StatusCode.UNAVAILABLE, "etcdserver: rpc not supported for learner")
        leader_id = c.status(leader)["header"]["member_id"]
        with grpc.insecure_channel(learner.endpoint) as channel:
            kv, lease, watch = rpc.KVStub(channel), rpc.LeaseStub(channel), rpc.WatchStub(channel)
            cluster, maintenance = rpc.ClusterStub(channel), rpc.MaintenanceStub(channel)
            refused = {
                "linearizable range": lambda: kv.Range(rpc.RangeRequest(key=b"k"), timeout=20),
                "put": lambda: kv.Put(rpc.PutRequest(key=b"k", value=b"w"), timeout=20),
                "delete": lambda: kv.DeleteRange(rpc.DeleteRangeRequest(key=b"k"), timeout=20),
                "txn": lambda: kv.Txn(rpc.TxnRequest(success=[rpc.RequestOp(
                    request_put=rpc.PutRequest(key=b"k", value=b"t"))]), timeout=20),
                "compact": lambda: kv.Compact(rpc.CompactionRequest(revision=1), timeout=20),
                "lease grant": lambda: lease.LeaseGrant(rpc.LeaseGrantRequest(TTL=60), timeout=20),
                "lease revoke": lambda: lease.LeaseRevoke(rpc.LeaseRevokeRequest(ID=1), timeout=20),
                "lease ttl": lambda: lease.LeaseTimeToLive(rpc.LeaseTimeToLiveRequest(ID=1), timeout=20),
                "leases": lambda: lease.LeaseLeases(rpc.LeaseLeasesRequest(), timeout=20),
                # A stream the learner served would stay open until the deadline.
                "keep-alive": lambda: list(lease.LeaseKeepAlive(iter([rpc.LeaseKeepAliveRequest(ID=1)]), timeout=20)),
                "watch": lambda: list(watch.Watch(iter([rpc.WatchRequest(
                    create_request=rpc.WatchCreateRequest(key=b"k"))]), timeout=20)),
                "member list": lambda: cluster.MemberList(rpc.MemberListRequest(), timeout=20),
                "member add": lambda: cluster.MemberAdd(rpc.MemberAddRequest(
                    peerURLs=["http://127.0.0.1:%d" % free_port()]), timeout=20),
                "member remove": lambda: cluster.MemberRemove(rpc.MemberRemoveRequest(ID=learner_id), timeout=20),
                "member update": lambda: cluster.MemberUpdate(rpc.MemberUpdateRequest(
                    ID=learner_id, peerURLs=[learner.peer_url]), timeout=20),
                "alarm": lambda: maintenance.Alarm(rpc.AlarmRequest(), timeout=20),
                "defragment": lambda: maintenance.Defragment(rpc.DefragmentRequest(), timeout=20),
                "hash": lambda: maintenance.Hash(rpc.HashRequest(), timeout=20),
                "hashkv": lambda: maintenance.HashKV(rpc.HashKVRequest(), timeout=20),
                "move leader": lambda: maintenance.MoveLeader(rpc.MoveLeaderRequest(targetID=leader_id), timeout=20),
            }
            for name, call in refused.items():
                self.assertEqual(answer(call), refusal, name)
            # (python3-etcd3's protos predate MemberPromote: etcdctl asks it.)
            self.assertEqual(self.refused(learner, "promote", "%x" % learner_id),
                             "Error: etcdserver: rpc not supported for learner")

            self.assertEqual(maintenance.Status(rpc.StatusRequest(), timeout=20).header.member_id, learner_id)
            got = kv.Range(rpc.RangeRequest(key=b"k", serializable=True), timeout=20)
            self.assertEqual([(x.key, x.value) for x in got.kvs], [(b"k", b"v")])
            blob = b"".join(r.blob for r in maintenance.Snapshot(rpc.SnapshotRequest(), timeout=60))
            self.assertGreater(len(blob), 0)

        # Nothing the learner refused happened; leadership cannot move to it.
        _, value, _ = leader.etcdctl("get", "k", "--print-value-only")
        self.assertEqual(value.strip(), "v")
        self.assertEqual(self.members(leader)[learner_id][2], True)
        with grpc.insecure_channel(leader.endpoint) as channel:
            self.assertEqual(answer(lambda: rpc.MaintenanceStub(channel).MoveLeader(
                rpc.MoveLeaderRequest(targetID=learner_id), timeout=20)),
                (grpc.StatusCode.FAILED_PRECONDITION, "etcdserver: bad leader transferee"))

        # etcd's membership metrics: the learner says it is one; the leader counts the promotions
        # it decided, each failure by its reason.
        self.assertEqual(metric(learner, "etcd_server_is_learner"), 1)
        self.assertEqual(metric(leader, "etcd_server_is_learner"), 0)
        self.assertEqual(self.refused(leader, "promote", "%x" % leader_id),
                         "Error: etcdserver: can only promote a learner member")
        self.assertEqual(metric(leader, "etcd_server_learner_promote_failures",
                                Reason="etcdserver: can only promote a learner member"), 1)

        self.promote(leader, learner_id)
        self.assertEqual(metric(leader, "etcd_server_learner_promote_successes"), 1)
        wait_for("the promoted member to say it is a voter", lambda: metric(learner, "etcd_server_is_learner") == 0)
        wait_for("the promoted member to serve writes", lambda: learner.etcdctl(
            "put", "k", "promoted", check=False)[0] == 0)
        _, value, _ = learner.etcdctl("get", "k", "--print-value-only")
        self.assertEqual(value.strip(), "promoted")

    def test_a_removed_follower_exits_and_the_others_serve_on(self):
        c = self.cluster
        leader = c.leader()
        follower = c.follower(leader)
        self.healthy(leader)
        follower_id = c.status(follower)["header"]["member_id"]
        leader.etcdctl("put", "before", "v")
        self.remove_and_see_it_exit(leader, follower, follower_id)
        rest = [m for m in c.members if m is not follower]
        for m in rest:
            self.assertNotIn(follower_id, self.members(m))
        leader.etcdctl("put", "after", "v")
        self.assert_same_state(rest)

    def test_a_leader_that_removes_itself_hands_leadership_on_first(self):
        c = self.cluster
        leader = c.leader()
        self.healthy(leader)
        leader_id = c.status(leader)["header"]["member_id"]
        self.remove_and_see_it_exit(leader, leader, leader_id)
        rest = [m for m in c.members if m is not leader]
        new_leader = c.leader(among=rest)
        self.assertIsNot(new_leader, leader)
        self.assertNotIn(leader_id, self.members(new_leader))
        new_leader.etcdctl("put", "after", "v")
        self.assert_same_state(rest)

    def test_strict_reconfig_check_refuses_what_would_lose_the_quorum(self):
        c = self.cluster
        leader = c.leader()
        down = c.follower(leader)
        up = next(m for m in c.members if m is not leader and m is not down)
        self.healthy(leader)
        down_id = c.status(down)["header"]["member_id"]
        up_id = c.status(up)["header"]["member_id"]
        failures = metric(leader, "etcd_network_peer_sent_failures_total", To="%x" % down_id) or 0
        down.kill()
        wait_for("the leader to find the killed member unreachable", lambda: (
            metric(leader, "etcd_network_peer_sent_failures_total", To="%x" % down_id) or 0) > failures)
        before = self.members(leader)
        unhealthy = "Error: etcdserver: unhealthy cluster"
        self.assertEqual(self.refused(leader, "add", "l", "--learner", "--peer-urls",
                                      "http://127.0.0.1:%d" % free_port()), unhealthy)
        # Removing a live member while another is down would leave one of two connected.
        self.assertEqual(self.refused(leader, "remove", "%x" % up_id), unhealthy)
        self.assertEqual(self.members(leader), before)
        # A member that is down may go: it is not part of the quorum that serves.
        leader.etcdctl("member", "remove", "%x" % down_id)
        # Two started voters may take a third that has not started (a quorum of 2 of 3 is up),
        # but not a fourth (3 of 4 would need to be started).
        _, out, _ = leader.etcdctl("member", "add", "x", "--peer-urls", "http://127.0.0.1:%d" % free_port())
        added = int(out.split()[1], 16)
        self.assertEqual(self.refused(leader, "add", "y", "--peer-urls", "http://127.0.0.1:%d" % free_port()),
                         "Error: etcdserver: re-configuration failed due to not enough started members")
        leader.etcdctl("member", "remove", "%x" % added)
        leader.etcdctl("put", "after", "v")
        self.assertEqual(set(self.members(leader)), {c.status(leader)["header"]["member_id"], up_id})
        self.assert_same_state([leader, up])


class Growing(ClusterCase):
    """Members added at run time join with --initial-cluster-state existing and the
    ETCD_INITIAL_CLUSTER etcdctl printed for them, are caught up by the leader's snapshot (their
    backend alternating with their peers'), and serve; members removed leave."""
    size = 1

    def learners(self, via):
        out = json.loads(via.etcdctl("member", "list", "-w", "json")[1])["members"]
        return sorted(m["ID"] for m in out if m.get("isLearner"))

    def test_grow_from_one_to_five_while_a_client_writes_then_shrink_to_three(self):
        c = self.cluster
        first = c.members[0]
        acknowledged = []
        stop = threading.Event()

        def write():
            cl = client(first)
            try:
                i = 0
                while not stop.is_set() and i < 100000:
                    try:
                        cl.put("w/%06d" % i, "v%d" % i)
                        acknowledged.append(i)
                    except Exception:
                        pass  # not acknowledged: it may or may not be there
                    i += 1
            finally:
                cl.close()
        writer = threading.Thread(target=write)
        writer.start()
        try:
            first_write = wait_for("a first acknowledged write", lambda: acknowledged and [acknowledged[0]])[0]
            for _ in range(4):
                new, new_id = self.add(first)
                self.assertEqual(self.learners(first), [new_id])
                self.assertTrue(c.status(new).get("isLearner"))
                # A learner serves serializable reads from the store the leader's snapshot brought.
                # (It is ready once its own name is applied there, which came after that write.)
                _, value, _ = new.etcdctl("get", "w/%06d" % first_write, "--consistency=s", "--print-value-only")
                self.assertEqual(value.strip(), "v%d" % first_write)
                self.promote(first, new_id)
                self.assertEqual(self.learners(first), [])
                wait_for("%s to say it is a voter" % new.name, lambda: not c.status(new).get("isLearner"))
                # Now a voter, it lists the members as the others do.
                wait_for("%s to list no learner" % new.name, lambda: self.learners(new) == [])
        finally:
            stop.set()
            writer.join(timeout=60)
        self.assertFalse(writer.is_alive())
        self.assertGreater(len(acknowledged), 0)
        self.assertEqual(len(json.loads(first.etcdctl("member", "list", "-w", "json")[1])["members"]), 5)
        self.assert_same_state(c.members)

        # Shrink to three: a follower, then the leader.
        leader = c.leader()
        follower = c.follower(leader)
        for gone in (follower, leader):
            via = next(m for m in c.members if m.alive() and m is not gone)
            gone_id = c.status(gone)["header"]["member_id"]
            wait_for("%s to be removed" % gone.name, lambda: via.etcdctl(
                "member", "remove", "%x" % gone_id, check=False)[0] == 0)
            self.assertEqual(gone.proc.wait(timeout=60), 0, gone.log()[-4000:])
        rest = [m for m in c.members if m.alive()]
        self.assertEqual(len(rest), 3)
        c.leader(among=rest)
        self.assert_same_state(rest)
        for m in rest:
            mc = client(m)
            try:
                for i in acknowledged:
                    self.assertEqual(mc.get("w/%06d" % i)[0], ("v%d" % i).encode(), "w/%06d on %s" % (i, m.name))
            finally:
                mc.close()


class ForceNewCluster(ClusterCase):
    """etcd's way back from a lost quorum: the survivor, restarted with --force-new-cluster, goes
    on alone with the cluster's id and every write it had applied, and grows back through learners."""

    def force_alone(self, survivor):
        """SIGKILLs every other member, restarts `survivor` with --force-new-cluster, waits for it
        to lead alone, and returns the members it lists."""
        for m in self.cluster.members:
            if m is not survivor:
                m.kill()
        self.assertEqual(survivor.stop(), 0)
        survivor.extra_args.append("--force-new-cluster")
        survivor.start()
        self.assertIn("forcing a new cluster", survivor.log())
        survivor.extra_args.remove("--force-new-cluster")
        self.cluster.leader(among=[survivor])
        return json.loads(survivor.etcdctl("member", "list", "-w", "json")[1])["members"]

    def test_a_survivor_of_a_lost_quorum_goes_on_alone_then_grows_back(self):
        c = self.cluster
        leader = c.leader()
        lc = client(leader)
        try:
            for i in range(50):
                lc.put("f/%02d" % i, "v%d" % i)
        finally:
            lc.close()
        survivor = c.follower(leader)
        revision = c.status(leader)["header"]["revision"]
        wait_for("the survivor to apply every write", lambda: c.status(survivor)["header"]["revision"] == revision)
        cluster_id = c.status(survivor)["header"]["cluster_id"]
        survivor_id = c.status(survivor)["header"]["member_id"]
        listed = self.force_alone(survivor)
        self.assertEqual([m["ID"] for m in listed], [survivor_id])
        self.assertEqual(c.status(survivor)["header"]["cluster_id"], cluster_id)
        survivor.etcdctl("put", "after", "alone")

        grown = [survivor]
        for _ in range(2):
            new, new_id = self.add(survivor)
            self.promote(survivor, new_id)
            grown.append(new)
        self.assertEqual(len(json.loads(survivor.etcdctl("member", "list", "-w", "json")[1])["members"]), 3)
        self.assert_same_state(grown)
        for m in grown:
            mc = client(m)
            try:
                for i in range(50):
                    self.assertEqual(mc.get("f/%02d" % i)[0], ("v%d" % i).encode(), "f/%02d on %s" % (i, m.name))
                self.assertEqual(mc.get("after")[0], b"alone")
            finally:
                mc.close()

    def test_a_learner_forced_alone_becomes_the_voter_and_leads(self):
        c = self.cluster
        leader = c.leader()
        leader.etcdctl("put", "k", "v")
        learner, learner_id = self.add(leader)
        wait_for("the learner to hold k", lambda: learner.etcdctl(
            "get", "k", "--consistency=s", "--print-value-only")[1].strip() == "v")
        listed = self.force_alone(learner)
        self.assertEqual([(m["ID"], bool(m.get("isLearner"))) for m in listed], [(learner_id, False)])
        learner.etcdctl("put", "after", "forced")
        _, value, _ = learner.etcdctl("get", "k", "--print-value-only")
        self.assertEqual(value.strip(), "v")


class Replacing(ClusterCase):
    def test_a_member_whose_data_dir_was_lost_is_replaced_by_a_new_one(self):
        c = self.cluster
        leader = c.leader()
        lost = c.follower(leader)
        lc = client(leader)
        try:
            for i in range(50):
                lc.put("before/%d" % i, "v")
        finally:
            lc.close()
        lost_id = c.status(lost)["header"]["member_id"]
        lost.kill()
        shutil.rmtree(os.path.join(lost.data_dir, "member-data"))
        # A member that is down may be removed (once etcd's 5 s of connection to the others are
        # up); its replacement gets a new id.
        def try_remove():
            code, _, err = leader.etcdctl("member", "remove", "%x" % lost_id, check=False)
            self.assertTrue(code == 0 or "etcdserver: unhealthy cluster" in err, err)
            return code == 0
        wait_for("the lost member to be removed", try_remove)
        new, new_id = self.add(leader, learner=False, backend=lost.backend)
        self.assertNotEqual(new_id, lost_id)
        self.assertEqual(c.status(new)["header"]["member_id"], new_id)
        leader.etcdctl("put", "after", "v")
        rest = [m for m in c.members if m.alive()]
        rev = self.assert_same_state(rest)
        self.assertGreater(rev, 50)
        nc = client(new)
        try:
            self.assertEqual(len(list(nc.get_prefix("before/"))), 50)
        finally:
            nc.close()
        # Restarted with the same flags, it is the same member (its ids are its log's).
        self.assertEqual(new.stop(), 0)
        new.start()
        self.assertEqual(c.status(new)["header"]["member_id"], new_id)

    def test_a_joiner_not_named_as_the_cluster_has_it_is_refused_with_etcds_message(self):
        c = self.cluster
        leader = c.leader()
        token = self.token()
        # Never added: the cluster has three members, its --initial-cluster four.
        stranger = Keeld("lmdb", name="stranger",
                         extra_args=["--transport", TRANSPORT, "--initial-cluster-state", "existing",
                                     "--initial-cluster-token", token])
        c.members.append(stranger)
        stranger.initial_cluster = leader.initial_cluster + ",stranger=" + stranger.peer_url
        stranger.launch()
        self.assertEqual(stranger.proc.wait(timeout=60), 1)
        self.assertIn("member count is unequal", stranger.log())
        self.assertFalse(os.path.exists(os.path.join(stranger.data_dir, "member-data", "member", "wal")))


class AnotherClusterToken(unittest.TestCase):
    def test_a_member_of_another_cluster_is_refused(self):
        c = Cluster(3, backends=BACKENDS, transport=TRANSPORT)
        stray = c.members[2]
        i = stray.extra_args.index("--initial-cluster-token")
        stray.extra_args[i + 1] = "another-token"
        try:
            for m in c.members:
                m.launch()
            for m in c.members[:2]:
                m.wait_ready()
            c.leader(among=c.members[:2])
            wait_for("'cluster ID mismatch' in the stray member's log and in one of the others'",
                     lambda: "cluster ID mismatch" in stray.log() and any(
                         "cluster ID mismatch" in m.log() for m in c.members[:2]))
            self.assertTrue(stray.alive())
            self.assertEqual(c.status(stray).get("leader", 0), 0, "the stray member must not find a leader")
        finally:
            for m in c.members:
                if m.alive():
                    m.stop()
            c.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
