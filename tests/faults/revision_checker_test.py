#!/usr/bin/env python3
"""Tests of the revision checker (revision_checker.py): synthetic histories built correct by
construction (a sequential key-value store applies each op at a point inside its window, making
the revisions, the answers and the truth; some writes of unknown outcome applied, some not)
pass; the same histories, and small ones written by hand, with one rule broken on purpose are
caught by that rule: a torn txn-write, a read of another revision's state, a stale read below an
acknowledged write's revision, a failed cas whose compare held, an unknown txn-write half applied;
and a truth that starts at a compacted revision leaves the older reads unchecked.

    /usr/bin/python3 tests/faults/revision_checker_test.py

Random histories print their seeds; KEEL_REVISION_SEED=<n> replays one.
"""
import copy
import dataclasses
import os
import random
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import linearizability  # noqa: E402
import revision_checker as rc  # noqa: E402
from revision_checker import KvOp, check  # noqa: E402
from watch_guarantees import Event, Truth  # noqa: E402

KEYS = ("k0", "k1", "k2", "k3")
MS = 1_000_000


class Store:
    """A sequential etcd store of the keys: revisions, versions, events."""

    def __init__(self):
        self.rev = 1
        self.kv = {}  # key -> (value, version, create_revision)
        self.events = []

    def state(self, key):
        v = self.kv.get(key)
        return (v[0], v[1]) if v else (None, 0)

    def holds(self, compares):
        return all(rc.compare_holds(c, self.state(c[0])) for c in compares)

    def apply(self, puts):
        self.rev += 1
        for k, v in sorted(puts.items()):
            old = self.kv.get(k)
            version, create = (old[1] + 1, old[2]) if old else (1, self.rev)
            self.kv[k] = (v, version, create)
            self.events.append(Event("PUT", k, v, self.rev, create, version))
        return self.rev

    def truth(self, start=1):
        return Truth(events=[e for e in self.events if e.mod_revision >= start], start=start, end=self.rev)


class Sim:
    """A correct history: `n` ops, each applied at its own point in time (strictly increasing),
    sent up to 40 ms before it and answered up to 40 ms after it, so windows overlap; writes
    of unknown outcome (about 1 in 8) are applied or not, with no answer."""

    def __init__(self, seed, n=300, unknown=0.12):
        self.rng = rng = random.Random(seed)
        self.store = s = Store()
        self.ops = []
        seen = {}
        t = 100 * MS
        for i in range(n):
            t += rng.randint(1, 15) * MS
            invoked, completed = t - rng.randint(1, 40) * MS, t + rng.randint(1, 40) * MS
            process = rng.randrange(6)
            kind = rng.choices(("get", "put", "cas", "txn-write", "txn-read", "range"), (4, 3, 3, 3, 2, 2))[0]
            op = KvOp(process=process, kind=kind, invoked=invoked, completed=completed, outcome="ok")
            if kind in ("get", "txn-read", "range"):
                keys = [rng.choice(KEYS)] if kind == "get" else \
                    sorted(rng.sample(KEYS, rng.randint(2, 4))) if kind == "txn-read" else list(KEYS)
                op.reads = {k: s.state(k)[0] for k in keys}
                if kind == "range":
                    op.read_range = ("k", "l")
                op.revision = s.rev
                self.ops.append(op)
                continue
            keys = [rng.choice(KEYS)] if kind != "txn-write" else sorted(rng.sample(KEYS, rng.randint(2, 3)))
            op.puts = {k: "%d.%d.%s" % (process, i, k) for k in keys}
            if kind == "cas":
                k = keys[0]
                expected = s.state(k)[0] if rng.random() < 0.6 else seen.get(k)
                op.compares = [(k, "value", "=", expected) if expected is not None else (k, "version", "=", 0)]
            elif kind == "txn-write" and rng.random() < 0.6:
                k = rng.choice(KEYS)
                value, version = s.state(k)
                op.compares = [rng.choice([(k, "value", "=", value if rng.random() < 0.7 else seen.get(k)),
                                           (k, "version", "=", version if rng.random() < 0.7 else version + 1),
                                           (k, "version", ">", 0), (k, "version", "!=", 0),
                                           (k, "version", "<", 3)])]
            if rng.random() < unknown:
                op.outcome, op.completed = "unknown", None
                if rng.random() < 0.5 and s.holds(op.compares):
                    s.apply(op.puts)
                self.ops.append(op)
                continue
            if s.holds(op.compares):
                op.succeeded = True
                op.revision = s.apply(op.puts)
                seen.update(op.puts)
            else:
                op.succeeded = False
                op.revision = s.rev
                if kind == "txn-write" and rng.random() < 0.5:
                    op.reads = {k: s.state(k)[0] for k in keys}
            self.ops.append(op)

    def truth(self, start=1):
        return self.store.truth(start)

    def state_at(self, key, rev):
        st = rc._States(self.truth())
        return st.at(key, rev)


def seeds(n):
    fixed = os.environ.get("KEEL_REVISION_SEED")
    return [int(fixed)] if fixed else list(range(n))


def rules(result):
    return sorted({v.rule for v in result.violations})


class CorrectHistories(unittest.TestCase):
    def test_random_histories_pass(self):
        for seed in seeds(60):
            sim = Sim(seed)
            r = check(sim.ops, sim.truth())
            self.assertTrue(r.ok, "seed %d: %s" % (seed, [str(v) for v in r.violations[:3]]))
            self.assertGreater(r.stats["acknowledged_writes"], 0)
            self.assertGreater(r.stats["keys_read"], 0)
            self.assertEqual(r.stats["beyond_truth"], 0)

    def test_projections_are_linearizable_registers(self):
        """The per-key projections (what run_faults gives the register checker) of correct
        histories with multi-key ops are linearizable."""
        for seed in seeds(25):
            sim = Sim(seed, n=150)
            ops = [linearizability.Op(**d) for op in sim.ops for d in rc.register_ops(op, KEYS)]
            result = linearizability.check(ops)
            self.assertEqual(result.verdict, "linearizable", "seed %d: %s" % (seed, result))

    def test_projection_shapes(self):
        w = KvOp(process=1, kind="txn-write", invoked=1, completed=5, outcome="ok", revision=7,
                 puts={"k0": "a", "k1": "b"}, compares=[("k2", "version", "=", 0)], succeeded=True)
        self.assertEqual([(d["key"], d["kind"], d["value"], d["outcome"]) for d in rc.register_ops(w)],
                         [("k0", "put", "a", "ok"), ("k1", "put", "b", "ok")])
        failed = dataclasses.replace(w, succeeded=False, reads={"k0": "x", "k1": None})
        self.assertEqual([(d["key"], d["kind"], d["result"]) for d in rc.register_ops(failed)],
                         [("k0", "get", "x"), ("k1", "get", None)])
        self.assertEqual(rc.register_ops(dataclasses.replace(w, succeeded=False)), [])
        unknown = dataclasses.replace(w, outcome="unknown", completed=None, revision=None, succeeded=None)
        self.assertEqual([(d["key"], d["outcome"], d["completed"]) for d in rc.register_ops(unknown)],
                         [("k0", "unknown", None), ("k1", "unknown", None)])
        rng = KvOp(process=1, kind="range", invoked=1, completed=2, outcome="ok", revision=3, reads={"k1": "b"},
                   read_range=("k", "l"))
        self.assertEqual([(d["key"], d["result"]) for d in rc.register_ops(rng, ("k0", "k1"))],
                         [("k0", None), ("k1", "b")])

    def test_json_round_trip(self):
        sim = Sim(3, n=40)
        back = [rc.from_json_line(rc.to_json_line(op)) for op in sim.ops]
        self.assertEqual(back, sim.ops)
        self.assertTrue(check(back, sim.truth()).ok)


def first(ops, pred):
    return next(i for i, op in enumerate(ops) if pred(op))


class BrokenRandomHistories(unittest.TestCase):
    """A correct random history, then one thing broken."""

    def test_torn_txn_write(self):
        """A txn-write's puts split over two revisions: the later keys move to a revision of
        their own, right after (every later revision moves up by one)."""
        for seed in seeds(10):
            sim = Sim(seed)
            i = first(sim.ops, lambda op: op.kind == "txn-write" and op.applied())
            torn = sim.ops[i]
            r0 = torn.revision
            moved = sorted(torn.puts)[1:]
            events = []
            for e in sim.store.events:
                if e.mod_revision > r0 or (e.mod_revision == r0 and e.key in moved):
                    e = dataclasses.replace(e, mod_revision=e.mod_revision + 1)
                events.append(e)
            ops = copy.deepcopy(sim.ops)
            for op in ops:
                if op.revision is not None and op.revision > r0:
                    op.revision += 1
            truth = Truth(events=sorted(events, key=lambda e: e.mod_revision), start=1, end=sim.store.rev + 1)
            r = check(ops, truth)
            self.assertIn("atomic", rules(r), "seed %d" % seed)
            self.assertIn("attributed", rules(r))
            text = next(str(v) for v in r.violations if v.rule == "atomic")
            self.assertIn("revision %d" % r0, text)
            self.assertIn("at revision %d" % (r0 + 1), text)  # where the rest of it is

    def test_read_of_another_revision(self):
        """A read answering the values of one revision with the header of another."""
        for seed in seeds(10):
            sim = Sim(seed)
            ops = copy.deepcopy(sim.ops)
            states = rc._States(sim.truth())
            for op in ops:
                if op.kind in ("txn-read", "range") and op.revision > 10:
                    other = op.revision - 5
                    old = {k: states.at(k, other)[0] for k in op.reads}
                    if old != op.reads:
                        op.reads = old
                        break
            else:
                self.fail("no read to break")
            r = check(ops, sim.truth())
            self.assertEqual(rules(r), ["read"], "seed %d: %s" % (seed, r.violations[:2]))
            self.assertIn("was the truth's from revision", str(r.violations[0]))

    def test_stale_read(self):
        """A read answered from an old but consistent state (a lagging member's), sent after a
        write with a higher revision was acknowledged."""
        for seed in seeds(10):
            sim = Sim(seed)
            i = first(sim.ops, lambda op: op.applied() and op.revision > 20)
            w = sim.ops[i]
            rev = w.revision - 3
            states = rc._States(sim.truth())
            stale = KvOp(process=9, kind="range", invoked=w.completed + 1, completed=w.completed + 2 * MS,
                         outcome="ok", revision=rev, reads={k: states.at(k, rev)[0] for k in KEYS},
                         read_range=("k", "l"))
            r = check(sim.ops + [stale], sim.truth())
            self.assertEqual(rules(r), ["real-time"], "seed %d" % seed)
            text = str(r.violations[0])
            self.assertIn("process 9 range", text)
            self.assertIn("must come later", text)
            self.assertIn("revision of at least", text)

    def test_unknown_txn_write_half_applied(self):
        for seed in seeds(10):
            sim = Sim(seed)
            ops = copy.deepcopy(sim.ops)
            i = first(ops, lambda op: op.kind == "txn-write" and op.applied())
            op = ops[i]
            op.outcome, op.completed, op.revision, op.succeeded = "unknown", None, None, None
            # Half of it in the truth: its other keys' events are dropped from its revision.
            r0 = sim.ops[i].revision
            keep = sorted(op.puts)[0]
            events = [e for e in sim.store.events if not (e.mod_revision == r0 and e.key != keep)]
            r = check(ops, Truth(events=events, start=1, end=sim.store.rev))
            self.assertIn("unknown", rules(r), "seed %d" % seed)
            self.assertIn("nowhere", next(str(v) for v in r.violations if v.rule == "unknown"))


def ack_put(rev, t0, t1, puts, process=0, kind="put", compares=(), succeeded=True, reads=None):
    return KvOp(process=process, kind=kind, invoked=t0 * MS, completed=t1 * MS, outcome="ok", revision=rev,
                puts=dict(puts), compares=list(compares), succeeded=succeeded, reads=dict(reads or {}))


def read(rev, t0, t1, reads, process=1, kind="get", read_range=None):
    return KvOp(process=process, kind=kind, invoked=t0 * MS, completed=t1 * MS, outcome="ok", revision=rev,
                reads=dict(reads), read_range=read_range)


class HandWritten(unittest.TestCase):
    """Small histories, each breaking one rule in the plainest way."""

    def setUp(self):
        self.s = Store()
        self.s.apply({"k0": "a"})  # 2
        self.s.apply({"k1": "b", "k2": "c"})  # 3
        self.s.apply({"k0": "d"})  # 4
        self.ops = [ack_put(2, 0, 2, {"k0": "a"}),
                    ack_put(3, 3, 5, {"k1": "b", "k2": "c"}, kind="txn-write"),
                    ack_put(4, 6, 8, {"k0": "d"}, kind="cas", compares=[("k0", "value", "=", "a")])]

    def test_base_is_ok(self):
        r = check(self.ops + [read(3, 5.5, 5.8, {"k0": "a", "k1": "b", "k2": "c", "k3": None}, kind="range",
                                   read_range=("k", "l"))], self.s.truth())
        self.assertTrue(r.ok, r.violations)

    def test_failed_cas_whose_compare_held(self):
        bad = ack_put(3, 5.5, 5.9, {"k0": "zz"}, kind="cas", compares=[("k0", "value", "=", "a")],
                      succeeded=False, process=3)
        r = check(self.ops + [bad], self.s.truth())
        self.assertEqual(rules(r), ["compare"])
        self.assertIn("its compare holds on the truth's state at revision 3: k0='a'", str(r.violations[0]))

    def test_failed_cas_whose_compare_failed_is_ok(self):
        ok = ack_put(4, 9, 10, {"k0": "zz"}, kind="cas", compares=[("k0", "value", "=", "a")], succeeded=False)
        self.assertTrue(check(self.ops + [ok], self.s.truth()).ok)

    def test_failed_write_whose_value_is_in_the_truth(self):
        self.ops[1].succeeded = False
        self.ops[1].compares = [("k3", "version", ">", 0)]
        r = check(self.ops, self.s.truth())
        self.assertIn("compare", rules(r))
        self.assertIn("attributed", rules(r))  # revision 3 is nobody's now

    def test_succeeded_write_whose_compare_failed(self):
        self.ops[2].compares = [("k0", "value", "=", "nope")]
        r = check(self.ops, self.s.truth())
        self.assertEqual(rules(r), ["compare"])
        self.assertIn("state it was applied to, the truth's at revision 3", str(r.violations[0]))

    def test_failed_read_branch_checked(self):
        failed = ack_put(4, 9, 10, {"k1": "q", "k2": "r"}, kind="txn-write", compares=[("k3", "version", ">", 0)],
                         succeeded=False, reads={"k1": "b", "k2": "old"})
        r = check(self.ops + [failed], self.s.truth())
        self.assertEqual(rules(r), ["read"])

    def test_write_claiming_a_read_revision(self):
        """A read at revision 2 answered before a write was sent; the write says revision 2 is
        its own (and the truth agrees): the read saw a write that had not been sent yet."""
        s = Store()
        s.apply({"k0": "a"})
        ops = [read(2, 0, 1, {"k0": "a"}), ack_put(2, 2, 3, {"k0": "a"})]
        r = check(ops, s.truth())
        self.assertEqual(rules(r), ["real-time"])
        self.assertIn("a revision above 2", str(r.violations[0]))
        # Overlapping, it is fine.
        ops[0].completed = 2.5 * MS
        self.assertTrue(check(ops, s.truth()).ok)

    def test_unknown_write_applied_before_it_was_sent(self):
        """An unknown write found at revision 3, sent after a read at revision 4 was answered."""
        late = KvOp(process=5, kind="txn-write", invoked=12 * MS, completed=None, outcome="unknown",
                    puts={"k1": "b", "k2": "c"})
        ops = [self.ops[0], late, self.ops[2], read(4, 9, 11, {"k0": "d"})]
        r = check(ops, self.s.truth())
        self.assertEqual(rules(r), ["real-time"])
        self.assertIn("found in the truth at revision 3", str(r.violations[0]))
        late.invoked = 2 * MS
        self.assertTrue(check(ops, self.s.truth()).ok)

    def test_unknown_write_applied_with_another(self):
        s = Store()
        s.apply({"k0": "a", "k1": "b"})
        u = KvOp(process=5, kind="put", invoked=0, completed=None, outcome="unknown", puts={"k0": "a"})
        r = check([u], s.truth())
        self.assertIn("unknown", rules(r))
        self.assertIn("with other events", str(r.violations[0]))

    def test_unknown_write_not_applied_is_fine(self):
        u = KvOp(process=5, kind="txn-write", invoked=0, completed=None, outcome="unknown",
                 puts={"k0": "x", "k3": "y"})
        r = check(self.ops + [u], self.s.truth())
        self.assertTrue(r.ok)
        self.assertEqual(r.stats["unknown_writes_not_applied"], 1)

    def test_revision_nobody_made(self):
        self.s.apply({"k3": "ghost"})
        r = check(self.ops, self.s.truth())
        self.assertEqual(rules(r), ["attributed"])
        self.assertIn("revision 5", str(r.violations[0]))
        # Outside the checked key range, it is someone else's (a lease's keys, say).
        s = Store()
        s.apply({"k0": "a"})
        s.apply({"lease/1": "x"})
        self.assertTrue(check([ack_put(2, 0, 1, {"k0": "a"})], s.truth()).ok)

    def test_range_sees_a_key_it_missed(self):
        r = check(self.ops + [read(4, 9, 10, {"k0": "d", "k1": "b"}, kind="range", read_range=("k", "l"))],
                  self.s.truth())
        self.assertEqual(rules(r), ["read"])
        self.assertIn("k2 read absent, the truth has k2='c'", str(r.violations[0]))

    def test_revision_beyond_the_end(self):
        r = check(self.ops + [read(9, 9, 10, {"k0": "d"})], self.s.truth())
        self.assertEqual(rules(r), ["read"])
        self.assertIn("beyond the cluster's final revision 4", str(r.violations[0]))

    def test_truth_cut_short_leaves_later_ops_unchecked(self):
        t = self.s.truth()
        t = Truth(events=[e for e in t.events if e.mod_revision <= 3], start=1, end=4)
        r = check(self.ops + [read(4, 9, 10, {"k0": "wrong"})], t)
        self.assertTrue(r.ok, r.violations)
        self.assertEqual(r.stats["beyond_truth"], 2)


class Compaction(unittest.TestCase):
    def test_compacted_truth_leaves_older_reads_unchecked(self):
        for seed in seeds(10):
            sim = Sim(seed)
            c = sim.store.rev // 2
            ops = copy.deepcopy(sim.ops)
            # A wrong read before the compacted revision: the truth cannot tell, it is skipped.
            early = next(op for op in ops if op.kind in ("get", "txn-read", "range") and op.revision < c - 2)
            early.reads = {k: "never" for k in early.reads}
            r = check(ops, sim.truth(start=c))
            self.assertTrue(r.ok, "seed %d: %s" % (seed, r.violations[:2]))
            self.assertGreater(r.stats["skipped_compacted"], 0)
            self.assertGreater(r.stats["skipped_unknown_state"] + r.stats["keys_read"], 0)
            # After it, a wrong read is still caught.
            late = next(op for op in ops if op.kind == "range" and op.revision > c + 20)
            late.reads = {k: "never" for k in late.reads}
            r = check(ops, sim.truth(start=c))
            self.assertEqual(rules(r), ["read"], "seed %d" % seed)

    def test_key_untouched_since_compaction_is_unknown(self):
        s = Store()
        s.apply({"k0": "a"})  # 2
        s.apply({"k1": "b"})  # 3
        s.apply({"k1": "c"})  # 4
        ops = [ack_put(2, 0, 1, {"k0": "a"}), ack_put(3, 2, 3, {"k1": "b"}), ack_put(4, 4, 5, {"k1": "c"}),
               read(4, 6, 7, {"k0": "anything", "k1": "c"}, kind="txn-read")]
        r = check(ops, s.truth(start=3))
        self.assertTrue(r.ok, r.violations)
        self.assertEqual(r.stats["skipped_unknown_state"], 1)
        self.assertEqual(r.stats["skipped_compacted"], 1)  # the put at 2
        ops[3].reads["k1"] = "b"
        self.assertEqual(rules(check(ops, s.truth(start=3))), ["read"])


class RunFaultsHistory(unittest.TestCase):
    """run_faults.History keeps both checkers' records, and the watch checker's side lists, for
    multi-key ops as for single-key ones."""

    def test_multi_key_ops(self):
        import run_faults
        h = run_faults.History(KEYS)
        h.add(process=0, key="k0", kind="get", value=None, expected=None, invoked=1, completed=2, outcome="ok",
              result=None, revision=1)
        h.add(process=0, key="k0", kind="cas", value="0.1", expected=None, invoked=3, completed=4, outcome="ok",
              result=False, revision=5)
        h.add_multi(KvOp(process=1, kind="txn-write", invoked=3, completed=6, outcome="ok", revision=7,
                         puts={"k0": "1.1.k0", "k1": "1.1.k1"}, succeeded=True))
        h.add_multi(KvOp(process=1, kind="txn-write", invoked=7, completed=None, outcome="unknown",
                         puts={"k2": "1.2.k2", "k3": "1.2.k3"}, compares=[("k0", "version", ">", 0)]))
        h.add_multi(KvOp(process=2, kind="txn-write", invoked=7, completed=9, outcome="ok", revision=8,
                         puts={"k2": "2.1.k2", "k3": "2.1.k3"}, compares=[("k0", "value", "=", "x")],
                         succeeded=False, reads={"k2": None, "k3": None}))
        h.add_multi(KvOp(process=2, kind="range", invoked=10, completed=11, outcome="ok", revision=8,
                         reads={"k0": "1.1.k0", "k1": "1.1.k1"}, read_range=("k", "l")))
        self.assertEqual(len(h.kv), 6)
        self.assertEqual(h.kv[0].reads, {"k0": None})
        self.assertEqual(h.kv[1].compares, [("k0", "version", "=", 0)])
        self.assertIs(h.kv[1].succeeded, False)
        # register ops: get, cas, 2 puts, 2 unknown puts, 2 gets of the failed one, 4 gets of the range
        self.assertEqual(len(h.ops), 12)
        self.assertEqual(sorted((o.key, o.result) for o in h.ops[-4:]),
                         [("k0", "1.1.k0"), ("k1", "1.1.k1"), ("k2", None), ("k3", None)])
        w = h.writes()
        self.assertEqual(w.acknowledged, [("k0", "1.1.k0", 7), ("k1", "1.1.k1", 7)])
        self.assertEqual(w.unknown, [("k2", "1.2.k2"), ("k3", "1.2.k3")])
        self.assertEqual(w.failed, [("k0", "0.1"), ("k2", "2.1.k2"), ("k3", "2.1.k3")])
        self.assertEqual(h.latest_revision(), 7)
        self.assertTrue(h.overwritten_since("k1", 2))


if __name__ == "__main__":
    print("revision_checker_test: KEEL_REVISION_SEED=%s" % os.environ.get("KEEL_REVISION_SEED", "(default seeds)"))
    unittest.main(verbosity=1)
