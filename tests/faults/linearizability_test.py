#!/usr/bin/env python3
"""Tests of the linearizability checker (linearizability.py): histories built by hand that are
and are not linearizable, random histories of a real register (linearizable by construction) and
the same with one read made impossible, a cross-check against a brute-force search on small
random histories, and a 2,000-operation history for speed.

    /usr/bin/python3 tests/faults/linearizability_test.py

Random tests print their seeds; KEEL_LIN_SEED=<n> replays one.
"""
import dataclasses
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import linearizability as lin  # noqa: E402
from linearizability import Op, check  # noqa: E402

MS = 1_000_000  # the histories below count in ms; the checker in ns


def get(p, inv, comp, result, key="k"):
    return Op(p, key, "get", None, None, inv * MS, comp * MS, "ok", result)


def put(p, inv, comp, value, key="k"):
    """comp None: the put's outcome is unknown."""
    if comp is None:
        return Op(p, key, "put", value, None, inv * MS, None, "unknown", None)
    return Op(p, key, "put", value, None, inv * MS, comp * MS, "ok", None)


def cas(p, inv, comp, expected, value, swapped, key="k"):
    """comp None: the cas's outcome is unknown (swapped is then ignored)."""
    if comp is None:
        return Op(p, key, "cas", value, expected, inv * MS, None, "unknown", None)
    return Op(p, key, "cas", value, expected, inv * MS, comp * MS, "ok", swapped)


def seed_for(test):
    """A seed for a random test: KEEL_LIN_SEED, or a fresh one; printed either way."""
    seed = int(os.environ.get("KEEL_LIN_SEED") or random.SystemRandom().getrandbits(32))
    print("\n%s: seed %d (replay: KEEL_LIN_SEED=%d)" % (test.id(), seed, seed), file=sys.stderr, flush=True)
    return seed


# ---------------------------------------------------------------------------------------------
# A real register, run by clients whose requests take random times: linearizable by construction.

def register_history(rng, n, processes, key="k", unknown_rate=0.05, step=MS, jitter=None):
    """n operations on one key. Each takes effect at its own instant (one every `step` ns); its
    request was sent up to `jitter` before and answered up to `jitter` after, by a process that
    was idle then. A write of unknown outcome may or may not have taken effect (half do)."""
    jitter = jitter or step * processes // 2
    ops, value, written, busy_until = [], None, [], [0] * processes
    for i in range(n):
        at = (i + 1) * step
        inv, comp = at - rng.randint(1, jitter), at + rng.randint(1, jitter)
        idle = [p for p in range(processes) if busy_until[p] < inv]
        if not idle:
            inv, comp = at - 1, at + 1
            idle = [p for p in range(processes) if busy_until[p] < inv]
            if not idle:
                continue
        p = rng.choice(idle)
        kind = rng.choices(("get", "put", "cas"), weights=(4, 3, 3))[0]
        unknown = kind != "get" and rng.random() < unknown_rate
        busy_until[p] = comp if not unknown else inv + 3 * jitter  # it gave up after a timeout
        if kind == "get":
            ops.append(Op(p, key, "get", None, None, inv, comp, "ok", value))
            continue
        new = "%s.%d" % (key, i)
        expected = None
        if kind == "cas":
            expected = value if rng.random() < 0.6 else rng.choice(written + [None])
        applies = kind == "put" or expected == value
        effect = applies and (not unknown or rng.random() < 0.5)
        if effect:
            value = new
            written.append(new)
        if unknown:
            ops.append(Op(p, key, kind, new, expected, inv, None, "unknown", None))
        else:
            ops.append(Op(p, key, kind, new, expected, inv, comp, "ok", applies if kind == "cas" else None))
    rng.shuffle(ops)  # the checker must not depend on the input order
    return ops


def took_effect(op):
    """Whether a write certainly took effect."""
    return op.outcome == "ok" and (op.kind == "put" or (op.kind == "cas" and op.result))


def impossible_values(ops, read):
    """Values `read` cannot return in any linearization (values are unique per write here):
    - a value whose write was sent after the read was answered;
    - a value certainly overwritten before the read was sent: its write certainly took effect and
      completed before another that certainly took effect was sent, which completed before the
      read was sent (nothing writes that value again);
    - absent, once a write that certainly took effect completed before the read was sent.
    (A value merely not current during the read's window in this run is not enough: another
    linearization may move a concurrent write into the window.)"""
    out = set()
    writes = [op for op in ops if op.kind != "get"]
    for w in writes:
        if w.invoked > read.completed:
            out.add(w.value)
    done = [w for w in writes if took_effect(w) and w.completed < read.invoked]
    for w in done:
        if any(w.completed < w2.invoked for w2 in done):
            out.add(w.value)
    if done:
        out.add(None)
    out.discard(read.result)
    return sorted(out, key=lambda v: (v is not None, v or ""))


# ---------------------------------------------------------------------------------------------
# A brute-force reference: every order of every subset, no pruning (small histories only).

def brute_force_linearizable(ops):
    """Whether some order of all the known operations and some of the unknown ones keeps real
    time and the register's answers (one key)."""
    ops = [op for op in ops if not (op.kind == "get" and op.outcome == "unknown")]
    end = [op.completed if op.outcome == "ok" else float("inf") for op in ops]

    def step(op, state):
        if op.outcome == "unknown":  # it may take effect (a cas only if it compares equal)
            return op.value if op.kind == "put" or state == op.expected else state
        if op.kind == "get":
            return state if state == op.result else None, state == op.result
        if op.kind == "put":
            return op.value
        if op.result:
            return op.value if state == op.expected else None, state == op.expected
        return state if state != op.expected else None, state != op.expected

    def search(left, state):
        if all(ops[i].outcome == "unknown" for i in left):
            return True
        for i in left:
            if any(end[j] < ops[i].invoked for j in left):
                continue  # someone still to be placed was answered before this was sent
            out = step(ops[i], state)
            new, fine = out if isinstance(out, tuple) else (out, True)
            if fine and search(left - {i}, new):
                return True
        return False

    return search(frozenset(range(len(ops))), None)


def random_small_history(rng, n):
    """Any results at all (mostly not linearizable), values from a small pool (not unique)."""
    ops = []
    pool = ["a", "b", "c", "d"][:rng.randint(1, 4)]
    unknown_rate = rng.choice((0.2, 0.5, 0.8))
    for _ in range(n):
        inv = rng.randint(0, 20)
        comp = inv + rng.randint(0, 8)
        kind = rng.choice(("get", "put", "cas", "cas"))
        if kind == "get":
            ops.append(get(rng.randint(0, 3), inv, comp, rng.choice(pool + [None])))
            continue
        if rng.random() < unknown_rate:
            comp = None
        if kind == "put":
            ops.append(put(rng.randint(0, 3), inv, comp, rng.choice(pool)))
        else:
            ops.append(cas(rng.randint(0, 3), inv, comp, rng.choice(pool + [None]), rng.choice(pool),
                           rng.random() < 0.5))
    return ops


def perturbed_register_history(rng, n):
    """A small register history with up to two results, compares or times altered: near the
    boundary between linearizable and not."""
    ops = register_history(rng, n, rng.randint(1, 4), unknown_rate=rng.choice((0, 0.3, 0.6)),
                           step=10, jitter=rng.choice((5, 15, 30)))
    values = [op.value for op in ops if op.value] + [None]
    for _ in range(rng.randint(0, 2)):
        i = rng.randrange(len(ops))
        op = ops[i]
        if op.outcome != "ok":
            continue
        if op.kind == "get":
            op = dataclasses.replace(op, result=rng.choice(values))
        elif op.kind == "cas" and rng.random() < 0.5:
            op = dataclasses.replace(op, result=not op.result)
        elif op.kind == "cas":
            op = dataclasses.replace(op, expected=rng.choice(values))
        else:
            invoked = op.invoked + rng.randint(-10, 10)
            op = dataclasses.replace(op, invoked=invoked, completed=max(invoked, op.completed))
        ops[i] = op
    return ops


# ---------------------------------------------------------------------------------------------

class Linearizable(unittest.TestCase):
    def assertLinearizable(self, ops):
        result = check(ops)
        self.assertTrue(result.ok, "\n".join(result.explain()))
        self.assertEqual(result.verdict, "linearizable")
        return result

    def test_empty_history(self):
        self.assertLinearizable([])

    def test_sequential(self):
        self.assertLinearizable([
            get(1, 0, 1, None), put(1, 2, 3, "a"), get(2, 4, 5, "a"), put(2, 6, 7, "b"),
            get(1, 8, 9, "b"), cas(3, 10, 11, "b", "c", True), get(1, 12, 13, "c")])

    def test_concurrent_writes_read_in_either_order(self):
        for first, second in (("a", "b"), ("b", "a")):
            with self.subTest(order=first + second):
                self.assertLinearizable([
                    put(1, 0, 10, "a"), put(2, 1, 11, "b"),
                    get(3, 12, 13, second), get(4, 5, 6, first)])
        # Two readers may even see them in the two orders while the writes are still running,
        # as long as the reads overlap.
        self.assertLinearizable([
            put(1, 0, 100, "a"), put(2, 0, 100, "b"),
            get(3, 10, 20, "a"), get(3, 30, 40, "b"), get(4, 15, 35, "b")])

    def test_unknown_write_later_observed(self):
        self.assertLinearizable([
            put(1, 0, 1, "a"), put(2, 2, None, "b"), get(3, 3, 4, "a"), get(3, 50, 51, "b"),
            get(4, 60, 61, "b")])

    def test_unknown_write_never_observed(self):
        self.assertLinearizable([
            put(1, 0, 1, "a"), put(2, 2, None, "b"), get(3, 3, 4, "a"), get(3, 50, 51, "a"),
            cas(1, 60, None, "a", "c", None), get(4, 70, 71, "a")])

    def test_unknown_cas_that_took_effect(self):
        self.assertLinearizable([
            put(1, 0, 1, "a"), cas(2, 2, None, "a", "b", None), get(3, 10, 11, "b")])

    def test_cas_successes_and_failures(self):
        self.assertLinearizable([
            cas(1, 0, 1, None, "a", True),      # absent -> a
            cas(2, 2, 3, None, "x", False),     # not absent any more
            cas(1, 4, 5, "a", "b", True),
            cas(2, 6, 7, "a", "y", False),      # a was replaced
            get(3, 8, 9, "b")])
        # Two concurrent cas on the same value: one wins.
        self.assertLinearizable([
            put(1, 0, 1, "a"), cas(2, 2, 10, "a", "b", True), cas(3, 3, 9, "a", "c", False),
            get(1, 11, 12, "b")])

    def test_failed_cas_explained_by_unknown_write(self):
        # Only the write of unknown outcome can have made the key present.
        self.assertLinearizable([put(1, 0, None, "a"), cas(2, 5, 6, None, "b", False)])

    def test_reads_of_absent_key(self):
        self.assertLinearizable([get(1, 0, 1, None), get(2, 0, 1, None), put(3, 2, 10, "a"),
                                 get(1, 3, 4, None), get(2, 5, 6, "a"), get(1, 11, 12, "a")])

    def test_keys_are_independent(self):
        self.assertLinearizable([put(1, 0, 1, "a", key="x"), get(2, 2, 3, None, key="y"),
                                 put(1, 4, 5, "b", key="y"), get(2, 6, 7, "a", key="x")])

    def test_windows_that_touch_overlap(self):
        # Answered and sent in the same nanosecond: concurrent, so either order is allowed.
        self.assertLinearizable([put(1, 0, 5, "a"), get(2, 5, 6, None)])


class Violations(unittest.TestCase):
    def assertViolation(self, ops, key, offending, core=None):
        """Not linearizable, on `key`, with `offending` the last op of the shortest failing
        prefix and printed; and the core (when given) exactly that."""
        result = check(ops)
        text = "\n".join(result.explain())
        self.assertFalse(result.ok, text)
        self.assertEqual(result.verdict, "violation", text)
        self.assertEqual(result.key, key, text)
        self.assertIn(offending, result.sub_history, text)
        self.assertIs(result.last, offending, text)
        self.assertIn(result.unplaced, result.sub_history, text)
        if core is not None:
            self.assertEqual(sorted(map(repr, result.core)), sorted(map(repr, core)), text)
        # Every op of the prefix overlapping the last op's window is printed (but writes of
        # unknown outcome invoked before it: they are counted).
        for op in result.prefix:
            overlaps = op.invoked <= offending.completed and (
                op.completed is None or op.completed >= offending.invoked)
            if overlaps and (op.outcome == "ok" or op.invoked >= offending.invoked):
                self.assertIn(op, result.sub_history, text)
        self.assertTrue(any("could not be placed" in line for line in result.lines), text)
        json.dumps(result.explain())  # the harness writes it into its JSON report
        return result

    def test_stale_read_after_completed_write(self):
        w, r = put(1, 0, 1, "a"), get(2, 2, 3, None)
        self.assertViolation([put(3, 0, 1, "x", key="other"), w, r], "k", r, core=[w, r])

    def test_read_of_value_never_written(self):
        r = get(2, 2, 3, "zz")
        self.assertViolation([put(1, 0, 1, "a"), r, put(1, 4, 5, "b")], "k", r, core=[r])

    def test_concurrent_writes_seen_in_opposite_orders(self):
        # a and b are written concurrently over [0, 100]. p3 reads a then b; p4 reads b then a.
        # Each process's first read was answered before the other's second read was sent, so
        # p3 says a before b and p4 says b before a: no single order of the writes fits.
        wa, wb = put(1, 0, 100, "a"), put(2, 0, 100, "b")
        r3a, r3b = get(3, 10, 20, "a"), get(3, 30, 40, "b")
        r4b, r4a = get(4, 11, 21, "b"), get(4, 31, 41, "a")
        result = self.assertViolation([wa, wb, r3a, r3b, r4b, r4a], "k", r4a,
                                      core=[r3a, r3b, r4b, r4a])
        # The writes were still running at the cut: they count as unknown there.
        self.assertIn(wa, result.sub_history)
        self.assertTrue(any("answered after the cut" in line for line in result.lines))

    def test_cas_swapped_against_value_the_key_could_not_hold(self):
        c = cas(3, 4, 5, "a", "c", True)
        self.assertViolation([put(1, 0, 1, "a"), put(2, 2, 3, "b"), c], "k", c)
        # Nor against absence once the key was written.
        c = cas(3, 4, 5, None, "c", True)
        self.assertViolation([put(1, 0, 1, "a"), c], "k", c)

    def test_lost_acknowledged_write(self):
        old, new, r = put(1, 0, 1, "old"), put(1, 2, 3, "new"), get(2, 10, 11, "old")
        seen = get(3, 4, 5, "new")
        result = self.assertViolation([old, new, seen, put(4, 6, None, "lost"), r], "k", r)
        self.assertIn(old, result.sub_history)  # the write of what the read returned
        # Two minimal cores: "new" was answered, or seen, after "old" was answered.
        self.assertEqual(len(result.core), 3, result)
        self.assertTrue({repr(old), repr(r)} <= set(map(repr, result.core)), result)
        self.assertTrue(new in result.core or seen in result.core, result)
        self.assertTrue(any("1 write of unknown outcome" in line for line in result.lines), result)

    def test_unknown_write_cannot_take_effect_before_it_was_sent(self):
        r = get(2, 0, 1, "a")
        self.assertViolation([r, put(1, 2, None, "a")], "k", r)

    def test_failed_cas_without_any_write(self):
        c = cas(1, 0, 1, None, "a", False)
        self.assertViolation([c], "k", c)

    def test_first_failing_key_is_reported_and_all_listed(self):
        ops = [get(1, 0, 1, "x", key="b"), get(1, 0, 1, "y", key="a"), put(1, 0, 1, "z", key="c")]
        result = check(ops)
        self.assertEqual(result.key, "a")
        self.assertEqual(result.violations, ["a", "b"])

    def test_shortest_prefix_is_the_earliest_failing_cut(self):
        # The stale read at 2-3 fails already; the one at 20-21 is printed only if it overlaps.
        w, r1, r2 = put(1, 0, 1, "a"), get(2, 2, 3, None), get(3, 20, 21, None)
        result = self.assertViolation([w, r1, r2, put(1, 30, 31, "b")], "k", r1)
        self.assertEqual(result.prefix, [w, r1])
        self.assertNotIn(r2, result.sub_history)


class Budget(unittest.TestCase):
    def test_inconclusive_when_the_budget_runs_out(self):
        rng = random.Random(1)
        ops = register_history(rng, 200, 8, unknown_rate=0)
        result = check(ops, max_states=20)
        self.assertFalse(result.ok)
        self.assertEqual(result.verdict, "inconclusive")
        self.assertEqual(result.inconclusive, ["k"])
        self.assertIn("inconclusive", result.summary())
        self.assertIn("not a pass", result.summary())


class BadInput(unittest.TestCase):
    def test_rejected(self):
        bad = [
            Op(1, "k", "delete", None, None, 0, 1, "ok", None),
            Op(1, "k", "get", None, None, 0, 1, "maybe", None),
            Op(1, "k", "get", None, None, 5, 1, "ok", None),
            Op(1, "k", "get", None, None, 0, None, "ok", None),
            Op(1, "k", "cas", "a", None, 0, 1, "ok", None),
            Op(1, "k", "put", None, None, 0, 1, "ok", None),
            Op(1, "k", "put", "a", None, "0", 1, "ok", None),
            Op(1, "k", "put", 7, None, 0, 1, "ok", None),
            Op(1, "k", "get", None, None, 0, 1, "ok", ["a"]),
        ]
        for op in bad:
            with self.subTest(op=op):
                with self.assertRaises(ValueError):
                    check([op])

    def test_unknown_gets_are_ignored(self):
        self.assertTrue(check([Op(1, "k", "get", None, None, 0, None, "unknown", None)]).ok)


class CommandLine(unittest.TestCase):
    def run_cli(self, lines, *args):
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            f.write("".join(line + "\n" for line in lines))
        try:
            command = [sys.executable, os.path.join(HERE, "linearizability.py"), f.name] + list(args)
            return subprocess.run(command, capture_output=True, text=True, timeout=120)
        finally:
            os.unlink(f.name)

    def test_exit_codes(self):
        good = [put(1, 0, 1, "a"), get(2, 2, 3, "a")]
        bad = [put(1, 0, 1, "a"), get(2, 2, 3, None)]
        p = self.run_cli([json.dumps(op.__dict__) for op in good])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("linearizable", p.stdout)
        p = self.run_cli([json.dumps(op.__dict__) for op in bad])
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("could not be placed", p.stdout)
        p = self.run_cli([json.dumps(op.__dict__) for op in register_history(random.Random(1), 100, 4)],
                         "--max-states", "5")
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("inconclusive", p.stdout)
        p = self.run_cli(["{not json"])
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        p = self.run_cli([json.dumps({"process": 1})])
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)


class Randomized(unittest.TestCase):
    def test_register_histories_pass_and_one_impossible_read_fails(self):
        seed = seed_for(self)
        rng = random.Random(seed)
        for trial in range(40):
            keys = ["k%d" % i for i in range(rng.randint(1, 3))]
            ops = []
            for key in keys:
                ops += register_history(rng, rng.randint(5, 150), rng.randint(1, 8), key=key,
                                        unknown_rate=rng.choice((0, 0.05, 0.2)))
            result = check(ops)
            self.assertTrue(result.ok, "seed %d trial %d:\n%s" % (seed, trial, result))

            reads = [op for op in ops if op.kind == "get"]
            rng.shuffle(reads)
            for read in reads:
                values = impossible_values([op for op in ops if op.key == read.key], read)
                if values:
                    break
            else:
                continue
            mutated = Op(read.process, read.key, "get", None, None, read.invoked, read.completed,
                         "ok", rng.choice(values))
            ops[ops.index(read)] = mutated
            result = check(ops)
            text = "seed %d trial %d, %r:\n%s" % (seed, trial, mutated, result)
            self.assertEqual(result.verdict, "violation", text)
            self.assertEqual(result.key, read.key, text)
            # Every cut before its answer is a cut of the real run: the mutated read is the last.
            self.assertIs(result.last, mutated, text)
            self.assertIn(mutated, result.sub_history, text)
            self.assertIn(mutated, result.core, text)

    def test_agrees_with_brute_force_on_small_histories(self):
        seed = seed_for(self)
        rng = random.Random(seed)
        verdicts = {True: 0, False: 0}
        for trial in range(3000):
            if trial % 2:
                ops = random_small_history(rng, rng.randint(1, 7))
            else:
                ops = perturbed_register_history(rng, rng.randint(2, 8))
            expected = brute_force_linearizable(ops)
            result = check(ops)
            verdicts[expected] += 1
            self.assertEqual(result.ok, expected, "seed %d trial %d: %r\n%s" % (seed, trial, ops, result))
            if not expected:
                self.check_explanation(ops, result, "seed %d trial %d: %r" % (seed, trial, ops))
        self.assertGreater(min(verdicts.values()), 100, verdicts)

    def check_explanation(self, ops, result, where):
        """The prefix is the shortest failing cut, and the core fails alone and is minimal."""
        recs = lin._records(ops)
        hist = lin._KeyHistory("k", recs)
        fails = [lin._search(hist.cut(pos), 10 ** 6).status == "fail" for pos in hist.returns]
        first = fails.index(True)
        self.assertTrue(all(fails[first:]), where)  # cuts only lose linearizability
        self.assertEqual(len(result.prefix), len(hist.cut(hist.returns[first])), where)
        core_ids = {id(op) for op in result.core}
        core_recs = [r for r in recs if id(r.op) in core_ids]
        self.assertTrue(core_recs, where)
        self.assertFalse(brute_force_linearizable([r.op for r in core_recs]), where)
        prefix = hist.cut(hist.returns[first])
        for drop in core_recs:
            keep = {r.seq for r in core_recs if r is not drop}
            weakened = [r if r.seq in keep else r.weakened() for r in prefix]
            self.assertEqual(lin._search([r for r in weakened if r is not None], 10 ** 6).status, "ok",
                             "%s: the core without %r still fails" % (where, drop.op))

    def test_witness_is_a_linearization(self):
        seed = seed_for(self)
        rng = random.Random(seed)
        for trial in range(30):
            ops = register_history(rng, rng.randint(1, 200), rng.randint(1, 8), unknown_rate=0.1)
            s = lin._search(lin._records(ops), 10 ** 6)
            self.assertEqual(s.status, "ok")
            known = {id(op) for op in ops if op.outcome == "ok"}
            self.assertEqual({id(r.op) for r in s.witness if r.known}, known)
            state = None
            for n, r in enumerate(s.witness):
                state = lin._step(r, state)
                self.assertIsNot(state, lin._FAIL, "seed %d trial %d: step %d" % (seed, trial, n))
                for later in s.witness[n + 1:]:  # nothing after it was answered before it was sent
                    self.assertFalse(later.known and later.comp < r.inv, "seed %d trial %d" % (seed, trial))


class Performance(unittest.TestCase):
    def test_2000_ops_8_processes(self):
        seed = seed_for(self)
        ops = register_history(random.Random(seed), 2000, 8, unknown_rate=0.05)
        started = time.monotonic()
        result = check(ops)
        took = time.monotonic() - started
        print("perf: %d ops, 8 processes: %s in %.2f s" % (len(ops), result.verdict, took),
              file=sys.stderr, flush=True)
        self.assertEqual(result.verdict, "linearizable", result.summary())

        # A lost write at the end: found, shortest prefix and core included, also in bounded time.
        last = max(ops, key=lambda op: op.completed or op.invoked)
        t = (last.completed or last.invoked) + 10 * MS
        done = [op for op in ops if took_effect(op)]
        first_write = min(done, key=lambda op: op.invoked)
        lost = Op(99, "k", "get", None, None, t, t + MS, "ok", first_write.value)
        self.assertIn(first_write.value, impossible_values(ops, dataclasses.replace(lost, result=None)))
        ops.append(lost)
        started = time.monotonic()
        result = check(ops)
        took = time.monotonic() - started
        print("perf: the same with a lost write: %s in %.2f s (%s)"
              % (result.verdict, took, result.summary()), file=sys.stderr, flush=True)
        self.assertEqual(result.verdict, "violation", result.summary())
        self.assertIs(result.last, ops[-1])


if __name__ == "__main__":
    unittest.main()
