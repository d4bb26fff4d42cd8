#!/usr/bin/env python3
"""A revision-based checker for a fault run's key-value history, multi-key transactions included
(issue #17).

linearizability.py checks each key as a register: it cannot see whether a transaction that wrote
two keys wrote them at one point, or whether a read of several keys saw one state. This checker
can, because etcd tells which state every operation saw or made: every response header carries
the store revision, and after the run the whole history of events is read back (the truth, the
same watch_guarantees.Truth the watch checker gets: events with mod_revision, key, value, type;
one revision per applied request, consecutive).

The record (run_faults.py makes it; one KvOp per operation):
    KvOp(process, kind, invoked, completed, outcome, revision, puts, compares, succeeded, reads,
         read_range)
  kind       "get", "put", "cas" (a Txn with one compare and one put), "txn-write" (a Txn that
             puts several keys, maybe guarded by compares), "txn-read" (a Txn of ranges) or
             "range" (one Range over a span of keys).
  invoked / completed: time.monotonic_ns() when sent / answered (completed None: no answer).
  outcome    "ok" (answered) or "unknown" (a write that timed out: applied or not, at any time
             after it was sent). Reads of unknown outcome are not recorded.
  revision   the answer's header revision (None when there was no answer).
  puts       key -> value the op writes when it succeeds (empty for reads). Values are unique
             per (key, value) across the history.
  compares   the guard, all must hold for the op to succeed: (key, target, op, operand) with
             target "value" or "version" and op one of = != > < (etcd's Compare; a value compare
             on an absent key fails, an absent key has version 0). Empty: unconditional.
  succeeded  for a write: whether its compares held and its puts were applied (a put: True);
             None for reads and unknown outcomes.
  reads      key -> value the op answered (None: absent): a get's value, a txn-read's ranges, the
             ranges of a failed txn-write's failure branch.
  read_range (begin, end) when the read was a range: every key in [begin, end) not in `reads`
             was absent.

Let S(R) be the state of the keys at revision R, rebuilt from the truth (every key absent at the
start; each event sets its key's value and version). When the truth starts at a compacted
revision C, a key with no event in [C, R] is of unknown state at R, and checks that need it are
skipped (counted in the stats). The rules, each a kind of violation:
  atomic     an acknowledged write that succeeded (put, swapped cas, successful txn-write) at
             revision R: the truth's events at R are exactly its puts (same keys and values,
             nothing else). A torn transaction (split over revisions, or mixed with another
             write's) fails here.
  compare    ... and its compares hold on S(R - 1), the state it was applied to. An acknowledged
             failed write (cas not swapped, failed txn-write) at revision R: its compares do not
             all hold on S(R), and none of its values is in the truth.
  read       an acknowledged read at revision R (a get, a txn-read, a range, the failure branch
             of a txn-write): every value it answered is the key's in S(R) (for a range, no other
             key of the range is present in S(R)). Reads at R < C are not checked.
  real-time  if op A was answered before op B was sent, rev(A) <= rev(B), and rev(A) < rev(B)
             when B is a write that succeeded (its revision is new). Checked in one sweep: the ops
             sorted by answer time; for each op, in order of sending, the greatest revision among
             the ops answered before it was sent (and the op that has it, which forces the order).
  unknown    a write of unknown outcome either never happened (none of its values is in the
             truth) or happened whole at one revision X: all its puts, and nothing else, are the
             truth's events at X; its compares hold on S(X - 1); and it takes part in the
             real-time sweep as a write at X that was sent at `invoked` (never answered).
  attributed every revision whose events touch the checked key range was made by a write of the
             history (one that succeeded at it, or one of unknown outcome found at it).
The truth itself (consecutive revisions from the first write, one event per key and revision,
versions and create revisions that add up, each value written once, by a write that could have
written it) is the watch checker's "history" check (watch_guarantees.py), run on the same truth;
this checker takes it as given. Ops at revisions the truth does not reach (it was cut short) are
left unchecked and counted.

Why these rules make the whole history linearizable (all keys at once, transactions included).
Take as the witness order: every acknowledged op at its header revision, and every write of
unknown outcome found in the truth at the revision X it was found at (one not found never took
effect: its values are unique, so the truth would show them; it is left out, as a linearization
may leave out an unknown write); sorted by revision, at one revision the write first, then the
reads by the time they were sent. Then:
  1. One write per revision, and the writes rebuild the truth: by "attributed", every revision
     that touches the keys is claimed by a write, and by "atomic"/"unknown" that write's puts are
     exactly the revision's events; two writes cannot claim one revision (their values differ).
     So applying the writes in the order, from the empty store, gives S(R) right after the write
     at R, by induction on R.
  2. Every answer is the one the sequential key-value store gives at the op's place: a write at R
     comes right after the state S(R - 1), on which its compares hold ("compare"), so it succeeds
     and its puts make S(R); a failed write at R comes where the state is S(R), on which its
     compares do not all hold ("compare"), so it fails, writes nothing (none of its values is in
     the truth) and its failure reads are of S(R) ("read"); a read at R returns S(R) ("read").
  3. Real time is kept: if A was answered before B was sent, rev(A) <= rev(B) ("real-time"). If
     rev(A) < rev(B), A comes first. If they are equal, B is not a write that succeeded (that
     would need rev(A) < rev(B)), so B is a read at R (or a failed write, which reads); A is then
     either the write at R, which comes first at R, or a read, sent before it was answered, so
     before B was sent, and reads at one revision go by the time they were sent. An unknown write
     has no answer, so it never has to come before anything; it must come after every op answered
     before it was sent, which the sweep checks with its revision X.
So the order is a linearization of the whole history. With a compacted truth the argument holds
from C on, and the stats say how many checks were skipped for lack of state.

check(ops, truth) returns a Result: ok, the violations (each names its rule and explains: the op,
its window, its revision, what the truth has at that revision; for real-time, the earlier op that
forces the order) and counts for the run's report.

Command line: /usr/bin/python3 tests/faults/revision_checker.py watch-<seed>.json kvops-<seed>.jsonl
(the files run_faults.py --out writes); exit 0 ok, 1 violation.
"""
import bisect
import dataclasses
import json
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Tuple

from watch_guarantees import Truth, in_range

KINDS = ("get", "put", "cas", "txn-write", "txn-read", "range")
RULES = ("atomic", "compare", "read", "real-time", "unknown", "attributed")
COMPARE_OPS = ("=", "!=", ">", "<")
MAX_PER_RULE = 50  # violations explained per rule (the rest are counted)
UNKNOWN = object()  # a key's state the truth cannot tell (compacted)


@dataclass
class KvOp:
    """One operation of the history (see the module docstring)."""
    process: int
    kind: str
    invoked: int
    completed: Optional[int]
    outcome: str
    revision: Optional[int] = None
    puts: Dict[str, str] = field(default_factory=dict)
    compares: List[Tuple[str, str, str, Any]] = field(default_factory=list)
    succeeded: Optional[bool] = None
    reads: Dict[str, Optional[str]] = field(default_factory=dict)
    read_range: Optional[Tuple[str, str]] = None

    def applied(self):
        """An acknowledged write that succeeded: it made the revision of its answer."""
        return self.outcome == "ok" and bool(self.puts) and self.succeeded is True


def compare_holds(compare, state):
    """Whether etcd's Compare holds on a key's state (value, version); value None: absent."""
    _, target, op, operand = compare
    value, version = state
    if target == "value":
        if value is None:
            return False  # etcd: a value compare on a missing key always fails
        a, b = value, operand
    elif target == "version":
        a, b = version, operand
    else:
        raise ValueError("compare target %r: value or version" % (target,))
    if op == "=":
        return a == b
    if op == "!=":
        return a != b
    if op == ">":
        return a > b
    if op == "<":
        return a < b
    raise ValueError("compare op %r: one of %s" % (op, " ".join(COMPARE_OPS)))


def register_ops(op, keys=()):
    """The op's projections on single keys, as linearizability.Op field dicts for the register
    checker. Sound: a linearization of the whole history, cut down to one key, linearizes these.
    A successful multi-key write is a put per key (a put is never more constrained than the cas
    it may have been); a failed one changed nothing, so only its reads remain, as gets; one of
    unknown outcome is an unknown put per key; a multi-key read is a get per key read (`keys`:
    the keys a range read answers absence for, when not in reads)."""
    base = dict(process=op.process, invoked=op.invoked, expected=None)
    out = []
    if op.puts:
        if op.outcome == "unknown":
            for k, v in sorted(op.puts.items()):
                out.append(dict(base, key=k, kind="put", value=v, completed=None, outcome="unknown", result=None))
            return out
        if op.succeeded:
            for k, v in sorted(op.puts.items()):
                out.append(dict(base, key=k, kind="put", value=v, completed=op.completed, outcome="ok", result=None))
            return out
    reads = dict(op.reads)
    if op.read_range is not None:
        for k in keys:
            if in_range(k, *op.read_range):
                reads.setdefault(k, None)
    for k, v in sorted(reads.items()):
        out.append(dict(base, key=k, kind="get", value=None, completed=op.completed, outcome="ok", result=v))
    return out


@dataclass
class Violation:
    rule: str
    text: str

    def __str__(self):
        return "%s: %s" % (self.rule, self.text)


@dataclass
class Result:
    ok: bool
    violations: List[Violation]
    stats: Dict[str, Any]

    def summary(self, max_violations=20):
        """The report's "revisions" entry (a JSON-able dict)."""
        out = dict(self.stats)
        out["ok"] = self.ok
        out["violations"] = [str(v) for v in self.violations[:max_violations]]
        if len(self.violations) > max_violations:
            out["violations_left_out"] = len(self.violations) - max_violations
        return out


class _States:
    """S(R) for every key, from the truth's events."""

    def __init__(self, truth):
        self.complete = truth.start <= truth.base_revision + 1
        self.revs = {}  # key -> revisions of its events, ascending
        self.vals = {}  # key -> (value, version) after each of them
        for e in sorted(truth.events, key=lambda e: e.mod_revision):
            self.revs.setdefault(e.key, []).append(e.mod_revision)
            self.vals.setdefault(e.key, []).append((e.value, e.version) if e.type == "PUT" else (None, 0))

    def at(self, key, rev):
        """(value, version) of `key` at revision `rev` (None, 0: absent), or UNKNOWN."""
        revs = self.revs.get(key)
        i = bisect.bisect_right(revs, rev) if revs else 0
        if i == 0:
            return (None, 0) if self.complete else UNKNOWN
        return self.vals[key][i - 1]

    def since(self, key, rev):
        """The revision of the event that made the key's state at `rev` (None: none)."""
        revs = self.revs.get(key)
        i = bisect.bisect_right(revs, rev) if revs else 0
        return revs[i - 1] if i else None

    def span_of(self, key, value):
        """Revisions [from, to] over which `key` had `value` (to None: to the end), or None."""
        for i, (v, _) in enumerate(self.vals.get(key, [])):
            if v == value and v is not None:
                revs = self.revs[key]
                return revs[i], (revs[i + 1] - 1 if i + 1 < len(revs) else None)
        return None

    def keys_in(self, begin, end):
        return [k for k in self.revs if in_range(k, begin, end)]


def _ms(t, t0):
    return "%.1f ms" % ((t - t0) / 1e6)


def _v(v):
    return "absent" if v is None else repr(v)


def describe(op, t0=0):
    """One op, for humans: what it did, its window (ms from t0) and its answer."""
    parts = ["process %d %s" % (op.process, op.kind)]
    if op.compares:
        parts.append("if " + " and ".join("%s %s %s %r" % c for c in op.compares))
    if op.puts:
        parts.append("put " + ", ".join("%s=%r" % kv for kv in sorted(op.puts.items())))
    if op.read_range is not None:
        parts.append("range [%r, %r)" % tuple(op.read_range))
    if op.reads:
        parts.append("read " + ", ".join("%s=%s" % (k, _v(v)) for k, v in sorted(op.reads.items())))
    if op.completed is not None:
        window = "[sent %s, answered %s]" % (_ms(op.invoked, t0), _ms(op.completed, t0))
    else:
        window = "[sent %s, no answer]" % _ms(op.invoked, t0)
    if op.outcome == "unknown":
        answer = "outcome unknown"
    elif op.puts:
        answer = "%s at revision %s" % ("succeeded" if op.succeeded else "failed", op.revision)
    else:
        answer = "at revision %s" % op.revision
    return "%s %s -> %s" % (" ".join(parts), window, answer)


class _Checker:
    def __init__(self, ops, truth, key_range):
        self.ops = list(ops)
        self.truth = truth
        self.key_range = key_range
        self.states = _States(truth)
        self.violations = []
        self.per_rule = {r: 0 for r in RULES}
        self.t0 = min((op.invoked for op in self.ops), default=0)
        self.by_revision = {}
        for e in truth.events:
            self.by_revision.setdefault(e.mod_revision, []).append(e)
        self.truth_puts = {}  # (key, value) -> revisions
        for e in truth.events:
            if e.type == "PUT":
                self.truth_puts.setdefault((e.key, e.value), []).append(e.mod_revision)
        # The revisions the truth covers without a gap: [first, covered].
        self.first = max(truth.start, truth.base_revision + 1)
        covered = self.first - 1
        while covered < truth.end and covered + 1 in self.by_revision:
            covered += 1
        self.covered = covered
        # The earliest revision whose state is known (the initial state when the truth is complete).
        self.lowest_state = truth.base_revision if self.states.complete else truth.start
        self.located = {}  # index of an unknown write -> the revision it was found at
        self.claimed = {}  # revision -> index of the op that made it
        self.counts = {"acknowledged_writes": 0, "failed_writes": 0, "reads": 0, "unknown_writes_applied": 0,
                       "unknown_writes_not_applied": 0, "keys_read": 0, "skipped_compacted": 0,
                       "skipped_unknown_state": 0, "beyond_truth": 0, "no_revision": 0,
                       "order_checked": 0, "kinds": {}}

    def fail(self, rule, text):
        self.per_rule[rule] += 1
        if self.per_rule[rule] <= MAX_PER_RULE:
            self.violations.append(Violation(rule, text))  # the rest are counted in the stats

    def d(self, op):
        return describe(op, self.t0)

    def events_text(self, rev):
        evs = self.by_revision.get(rev, [])
        return "; ".join(str(e) for e in evs) if evs else "no event"

    def state_text(self, keys, rev):
        out = []
        for k in sorted(keys):
            st = self.states.at(k, rev)
            if st is UNKNOWN:
                out.append("%s unknown (compacted)" % k)
            elif st[0] is None:
                out.append("%s absent" % k)
            else:
                out.append("%s=%r (version %d, since revision %s)" % (k, st[0], st[1], self.states.since(k, rev)))
        return ", ".join(out) or "nothing"

    def where_values(self, puts):
        out = []
        for k, v in sorted(puts.items()):
            revs = self.truth_puts.get((k, v))
            out.append("%s=%r %s" % (k, v, "at revision %s" % ",".join(map(str, revs)) if revs else "nowhere"))
        return "; ".join(out)

    # ---- the rules ----

    def usable(self, op, rev, state_needed):
        """Whether the truth can judge an op at `rev`; counts why not, and fails an op beyond the
        final revision of a complete truth."""
        low = self.lowest_state if state_needed else self.first
        if rev < low:
            self.counts["skipped_compacted"] += 1
            return False
        if rev > self.covered:
            if self.covered >= self.truth.end:
                self.fail("read" if not op.puts else "atomic",
                          "%s: its revision is beyond the cluster's final revision %d" % (self.d(op), self.truth.end))
            else:
                self.counts["beyond_truth"] += 1
            return False
        return True

    def compares_at(self, op, rev):
        """True / False: whether all of op's compares hold on S(rev); None: unknown state."""
        unknown = False
        for c in op.compares:
            st = self.states.at(c[0], rev)
            if st is UNKNOWN:
                unknown = True
                continue
            if not compare_holds(c, st):
                return False
        return None if unknown else True

    def check_write(self, i, op):
        self.counts["acknowledged_writes"] += 1
        rev = op.revision
        if not self.usable(op, rev, state_needed=False):
            return
        want = sorted((k, "PUT", v) for k, v in op.puts.items())
        got = sorted((e.key, e.type, e.value) for e in self.by_revision.get(rev, []))
        self.claimed.setdefault(rev, i)
        if want != got:
            self.fail("atomic", "%s: the truth's events at revision %d are not its puts: %s (its values: %s)" % (
                self.d(op), rev, self.events_text(rev), self.where_values(op.puts)))
        if op.compares:
            held = self.compares_at(op, rev - 1)
            if held is None:
                self.counts["skipped_unknown_state"] += 1
            elif not held:
                self.fail("compare", "%s: it succeeded, but its compare fails on the state it was applied to, "
                                     "the truth's at revision %d: %s" % (
                                         self.d(op), rev - 1, self.state_text([c[0] for c in op.compares], rev - 1)))

    def check_failed(self, op):
        self.counts["failed_writes"] += 1
        found = {k: v for k, v in op.puts.items() if (k, v) in self.truth_puts}
        if found:
            self.fail("compare", "%s: it answered that it failed, yet the truth has its values: %s" % (
                self.d(op), self.where_values(found)))
        rev = op.revision
        if not self.usable(op, rev, state_needed=True):
            return
        held = self.compares_at(op, rev)
        if held is None:
            self.counts["skipped_unknown_state"] += 1
        elif held:
            self.fail("compare", "%s: it failed, but its compare holds on the truth's state at revision %d: %s" % (
                self.d(op), rev, self.state_text([c[0] for c in op.compares], rev)))

    def check_read(self, op):
        self.counts["reads"] += 1
        rev = op.revision
        if not self.usable(op, rev, state_needed=True):
            return
        reads = dict(op.reads)
        if op.read_range is not None:
            for k in self.states.keys_in(*op.read_range):
                reads.setdefault(k, None)
        wrong = []
        for k, v in sorted(reads.items()):
            st = self.states.at(k, rev)
            if st is UNKNOWN:
                self.counts["skipped_unknown_state"] += 1
                continue
            self.counts["keys_read"] += 1
            if st[0] != v:
                span = self.states.span_of(k, v)
                when = ("; %s=%r was the truth's from revision %d to %s" % (
                    k, v, span[0], span[1] if span[1] is not None else "the end")) if span else \
                    ("" if v is None else "; %s=%r is nowhere in the truth" % (k, v))
                wrong.append("%s read %s, the truth has %s%s" % (k, _v(v), self.state_text([k], rev), when))
        if wrong:
            self.fail("read", "%s: it does not match the truth's state at revision %d: %s" % (
                self.d(op), rev, "; ".join(wrong)))

    def check_unknown(self, i, op):
        found = {k: self.truth_puts.get((k, v)) for k, v in op.puts.items()}
        if not any(found.values()):
            self.counts["unknown_writes_not_applied"] += 1
            return
        revs = {r for rs in found.values() if rs for r in rs}
        if len(revs) != 1 or not all(found.values()):
            self.fail("unknown", "%s: applied in part, or over several revisions: %s" % (
                self.d(op), self.where_values(op.puts)))
            return
        rev = revs.pop()
        want = sorted((k, "PUT", v) for k, v in op.puts.items())
        got = sorted((e.key, e.type, e.value) for e in self.by_revision.get(rev, []))
        if want != got:
            self.fail("unknown", "%s: it was applied at revision %d with other events: %s" % (
                self.d(op), rev, self.events_text(rev)))
            return
        self.counts["unknown_writes_applied"] += 1
        self.located[i] = rev
        self.claimed.setdefault(rev, i)
        if op.compares and rev - 1 >= self.lowest_state:
            held = self.compares_at(op, rev - 1)
            if held is None:
                self.counts["skipped_unknown_state"] += 1
            elif not held:
                self.fail("compare", "%s: it was applied at revision %d, but its compare fails on the truth's "
                                     "state at revision %d: %s" % (
                                         self.d(op), rev, rev - 1,
                                         self.state_text([c[0] for c in op.compares], rev - 1)))

    def check_attributed(self):
        for rev in range(self.first, self.covered + 1):
            if rev in self.claimed:
                continue
            mine = [e for e in self.by_revision.get(rev, []) if in_range(e.key, *self.key_range)]
            if mine:
                self.fail("attributed", "revision %d (%s) was made by no write of the history that claims it "
                                        "(no acknowledged write answered with it, no write of unknown outcome "
                                        "matches it)" % (rev, self.events_text(rev)))

    def check_real_time(self):
        """The sweep: ops sorted by answer time; for each op in order of sending, the greatest
        revision of the ops answered before it was sent."""
        entries = []  # (op, revision, a write that made its revision)
        for i, op in enumerate(self.ops):
            if op.outcome == "ok" and op.revision is not None:
                entries.append((op, op.revision, op.applied()))
            elif i in self.located:
                entries.append((op, self.located[i], True))
        self.counts["order_checked"] = len(entries)
        done = sorted((e for e in entries if e[0].completed is not None), key=lambda e: e[0].completed)
        j = 0
        best = None
        for e in sorted(entries, key=lambda e: e[0].invoked):
            op, rev, new = e
            while j < len(done) and done[j][0].completed < op.invoked:
                if best is None or done[j][1] > best[1]:
                    best = done[j]
                j += 1
            if best is None:
                continue
            a, arev, _ = best
            if rev < arev or (rev == arev and new):
                keys = sorted(set(op.puts) | set(op.reads) | {c[0] for c in op.compares})
                self.fail("real-time", "%s%s: but %s was answered %s before it was sent, at revision %d, so "
                                       "it must come later: %s. The truth at revision %d: %s; at revision %d: %s" % (
                                           self.d(op), " (found in the truth at revision %d)" % rev
                                           if op.outcome == "unknown" else "",
                                           self.d(a), "%.1f ms" % ((op.invoked - a.completed) / 1e6), arev,
                                           "a revision above %d" % arev if new else "a revision of at least %d" % arev,
                                           rev, self.state_text(keys, rev), arev, self.state_text(keys, arev)))

    def run(self):
        for i, op in enumerate(self.ops):
            if op.kind not in KINDS:
                raise ValueError("op %d: kind %r, not one of %s" % (i, op.kind, ", ".join(KINDS)))
            kinds = self.counts["kinds"]
            kinds["%s %s" % (op.kind, op.outcome)] = kinds.get("%s %s" % (op.kind, op.outcome), 0) + 1
            if op.outcome == "unknown":
                if op.puts:
                    self.check_unknown(i, op)
                continue
            if op.revision is None:
                self.counts["no_revision"] += 1
                continue
            if op.puts and op.succeeded:
                self.check_write(i, op)
            elif op.puts:
                self.check_failed(op)
            if op.reads or op.read_range is not None or (not op.puts and op.kind in ("get", "txn-read", "range")):
                self.check_read(op)
        self.check_attributed()
        self.check_real_time()

    def stats(self):
        out = dict(self.counts)
        out["operations"] = len(self.ops)
        out["truth_revisions"] = [self.first, self.covered]
        out["violations_by_rule"] = {r: n for r, n in self.per_rule.items() if n}
        return out


def check(ops: Iterable[KvOp], truth: Truth, key_range=("k", "l")) -> Result:
    """Checks the ops against the truth (see the module docstring); `key_range`: the keys the
    history's writes are the only writers of (begin, end)."""
    c = _Checker(ops, truth, key_range)
    c.run()
    return Result(ok=not c.violations, violations=c.violations, stats=c.stats())


# ---- the record as JSON ----

def to_json_line(op):
    return json.dumps(dataclasses.asdict(op))


def from_json_line(line):
    d = json.loads(line)
    d["compares"] = [tuple(c) for c in d.get("compares", [])]
    if d.get("read_range") is not None:
        d["read_range"] = tuple(d["read_range"])
    return KvOp(**d)


def main(argv):
    """/usr/bin/python3 tests/faults/revision_checker.py watch-<seed>.json kvops-<seed>.jsonl"""
    if len(argv) != 2:
        print(main.__doc__, file=sys.stderr)
        return 2
    import watch_guarantees
    with open(argv[0]) as f:
        _, truth, _ = watch_guarantees.from_json(f.read())
    with open(argv[1]) as f:
        ops = [from_json_line(line) for line in f if line.strip()]
    result = check(ops, truth)
    print(json.dumps(result.summary(max_violations=100), indent=2, sort_keys=True))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
