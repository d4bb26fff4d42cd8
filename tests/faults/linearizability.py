#!/usr/bin/env python3
"""A linearizability checker for histories of single-key registers (issue #17).

What it proves. For every key on its own (linearizability is compositional, so a history is
linearizable when each key's is), the checker searches for a linearization: one total order of
that key's operations in which
  - every operation with a known outcome appears, and some of those of unknown outcome do;
  - real time is kept: an operation answered before another was sent comes first;
  - every answer is the one a single register, absent at the start, would have given.
"linearizable" means such an order was found (it is a witness). "violation" means the search
covered every order (up to the pruning rules below, each a proof that the orders it skips cannot
succeed where an order it keeps fails) and none exists. "inconclusive" means the search passed its
budget of states first; that is not a pass.

The history (the fault harness, run_faults.py, records exactly this; one Op per operation):
    Op(process, key, kind, value, expected, invoked, completed, outcome, result)
  kind      "get", "put" or "cas". put writes `value`; cas writes `value` only if the key's
            current value equals `expected` (None: the key is absent); get reads.
  invoked   time.monotonic_ns() when the client sent the request;
  completed time.monotonic_ns() when the answer came; None when the outcome is unknown.
  outcome   "ok": the answer came; result is the value read (None: absent) for a get, whether
            it swapped (True/False) for a cas, None for a put.
            "unknown": a timeout or an error after which the write may or may not have taken
            effect, at any moment after `invoked` (so its return is at +infinity and it may
            never happen). A get of unknown outcome changed nothing and is left out; the
            harness does not record those anyway.
  Values are strings. They are unique per write in practice; nothing here depends on it.
Operations whose windows meet at the same nanosecond count as concurrent (the lenient reading).

The model: a register per key. get reads; put writes; cas(expected, value) writes when the current
value equals expected. Keys start absent; there is no delete, so once written a key stays present.

The search is Wing & Gong's, with Lowe's memoization (the WGL algorithm, as in Porcupine and
Knossos): the calls and returns of the operations with known outcomes, sorted by time, in a
doubly linked list; the candidates for the next linearized operation are the calls before the
first return still in the list; linearizing one lifts its call and return out; reaching a return
whose operation is not linearized means backtracking (once the unknown writes, below, are
tried). A cache of (bitset of linearized operations, register value) already explored cuts off
any state reached a second time.

Operations of unknown outcome have no return, so they never constrain the order; they are
candidates once invoked, from then on, and the search succeeds once every operation of known
outcome is linearized (unknown ones may remain). Left alone they would blow the search up (every
subset of them, in every order), so these rules cut it down. Each skips only what something kept
covers: a state dominated by one kept (same known operations done, same value, a subset of the
unknown ones used: whatever is reachable from the first is reachable from the second), or an
order that a shorter one, or one using the unknown writes later, can replace.
  1. An unknown write is tried only where it changes the value (a cas whose compare fails, or a
     put of the current value, is the same as the write never happening).
  2. Right after an unknown write, no put is tried: the put alone gives the same value.
  3. Right after unknown writes, something must use the value they left: a known candidate that
     reads it or compares with it, a failed cas that the value before them blocked (moving a cas
     that was not blocked before them leaves the same state), or an unknown cas expecting it
     that is so used in turn; else they could come later or not at all. Writes nothing could
     ever use that way are dropped before the search.
  4. Unknown writes doing the same thing (same kind, same canonical values) are interchangeable;
     of them only the latest invoked not yet used is tried (an earlier one stays usable longer).
  5. The cache keeps, per (known operations linearized, value), the sets of unknown operations
     used, and cuts off a state when a recorded set is a subset of its own.
  6. Values no operation reads or compares with are one canonical value: nothing can tell them
     apart, so the states they make are one state.
Known operations are tried before unknown ones at each step, so an unknown write is used only
where no explanation without it was found. The test file checks the whole against a brute-force
search (every order of every subset) on thousands of small random histories.

When a key is not linearizable, the checker explains it:
  - the shortest failing prefix: the history cut at the earliest answer after which it is no longer
    linearizable. A cut keeps the operations invoked by then (a prefix of the operations ordered by
    invocation); those still running at the cut count as unknown (writes) or are left out (reads),
    since their answers had not come. Cut this way, linearizability only gets lost as the cut moves
    later, so a bisection finds the shortest. (Keeping answers that came after the cut would not
    do: a read invoked before the write it observes fails alone, in a linearizable history.)
  - the operation whose answer made the prefix fail (the last), and the one the search could not
    place (the first return it could not get past, on its furthest attempt); usually the same.
  - a minimal core: operations of known outcome in the prefix that cannot be linearized even when
    every other write of the prefix may or may not have taken effect (and other reads are left
    out); dropping any one of the core makes it linearizable.
  - printed: the core, every operation of the prefix that overlaps the last one's window, the
    operation that could not be placed, and the writes of the values the core observed; times in ms
    from the first operation printed. Writes of unknown outcome invoked before the last op overlap
    it only because no answer came: those are counted, not printed (the core fails whatever they
    did).

Command line:
    /usr/bin/python3 tests/faults/linearizability.py history.jsonl [--max-states N]
one JSON object per line with the Op fields; exit 0 linearizable, 1 violation, 2 inconclusive or
bad input.
"""
import argparse
import bisect
import dataclasses
import json
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional

KINDS = ("get", "put", "cas")
OUTCOMES = ("ok", "unknown")
DEFAULT_MAX_STATES = 3_000_000  # per search; about 200 bytes of cache per state


@dataclass
class Op:
    """One operation on one key, as the harness records it (see the module docstring)."""
    process: int
    key: str
    kind: str
    value: Any
    expected: Any
    invoked: int
    completed: Optional[int]
    outcome: str
    result: Any


# ---------------------------------------------------------------------------------------------
# The per-key records the search works on.

# What an operation does to the register, decided once: the search then needs no string
# comparisons of kinds and outcomes.
GET, PUT, CAS_OK, CAS_FAIL, U_PUT, U_CAS = range(6)
_KNOWN_CODES = (GET, PUT, CAS_OK, CAS_FAIL)
_FAIL = object()  # the model's answer for "this operation cannot happen in this state"


class _Rec:
    """An operation of one key, as the search sees it.

    seq is its place in the key's history ordered by invocation (ties keep the input order); it
    names the operation across the transformed histories (cuts, weakenings) built from it.
    in_flight marks an operation of known outcome turned unknown by a cut."""
    __slots__ = ("op", "seq", "code", "value", "expected", "result", "inv", "comp", "in_flight")

    def __init__(self, op, seq, code, inv, comp, in_flight=False):
        self.op = op
        self.seq = seq
        self.code = code
        self.value = op.value
        self.expected = op.expected
        self.result = op.result
        self.inv = inv
        self.comp = comp
        self.in_flight = in_flight

    @property
    def known(self):
        return self.code in _KNOWN_CODES

    def weakened(self, in_flight=False):
        """This operation with its outcome forgotten: a write (whatever its answer) that may or
        may not have taken effect; nothing for a read (it changed nothing). Weakening only
        removes constraints, so a history that fails with it weakened fails without."""
        if self.code == GET:
            return None
        if self.code == PUT:
            return _Rec(self.op, self.seq, U_PUT, self.inv, None, in_flight)
        if self.code in (CAS_OK, CAS_FAIL):
            return _Rec(self.op, self.seq, U_CAS, self.inv, None, in_flight)
        return self


def _apply(code, a, b, state):
    """The register's answer to an operation given by its code and parameters (see _params): the
    value after it, or _FAIL when its recorded outcome is impossible from `state`. Unknown writes
    are taken as taking effect, and only when that changes the value (rule 1: otherwise they are
    the same as never happening)."""
    if code == GET:
        return state if state == a else _FAIL
    if code == PUT:
        return a
    if code == CAS_OK:
        return b if state == a else _FAIL
    if code == CAS_FAIL:
        return state if state != a else _FAIL
    if code == U_PUT:
        return a if state != a else _FAIL
    return b if state == a and state != b else _FAIL  # U_CAS


def _params(rec, canon=lambda v: v):
    """(code, a, b) for _apply: a is what the op reads or compares with (a get's result, a cas's
    expected), or a put's value; b is a cas's value. Written values go through `canon`."""
    code = rec.code
    if code == GET:
        return code, canon(rec.result), None
    if code in (PUT, U_PUT):
        return code, canon(rec.value), None
    return code, canon(rec.expected), canon(rec.value)


def _step(rec, state):
    """The register's answer to `rec` with its real values (the search uses canonical ones)."""
    return _apply(*_params(rec), state)


def _code_of(op):
    if op.outcome == "unknown":
        return U_PUT if op.kind == "put" else U_CAS
    if op.kind == "get":
        return GET
    if op.kind == "put":
        return PUT
    return CAS_OK if op.result else CAS_FAIL


def _validate(op, n):
    """Raise ValueError naming the operation (its line, 1-based) when it does not fit the format."""
    where = "operation %d (%r)" % (n, op)
    if op.kind not in KINDS:
        raise ValueError("%s: kind must be one of %s" % (where, ", ".join(KINDS)))
    if op.outcome not in OUTCOMES:
        raise ValueError("%s: outcome must be one of %s" % (where, ", ".join(OUTCOMES)))
    if not isinstance(op.invoked, int) or isinstance(op.invoked, bool):
        raise ValueError("%s: invoked must be an integer (ns)" % where)
    if op.outcome == "ok":
        if not isinstance(op.completed, int) or isinstance(op.completed, bool):
            raise ValueError("%s: an ok operation needs completed, an integer (ns)" % where)
        if op.completed < op.invoked:
            raise ValueError("%s: completed before invoked" % where)
        if op.kind == "cas" and not isinstance(op.result, bool):
            raise ValueError("%s: a cas's result is True or False" % where)
    if op.kind in ("put", "cas") and not isinstance(op.value, str):
        raise ValueError("%s: a %s writes a string value" % (where, op.kind))
    if op.kind == "cas" and not (op.expected is None or isinstance(op.expected, str)):
        raise ValueError("%s: a cas expects a string, or None for absent" % where)
    if op.kind == "get" and op.outcome == "ok" and not (op.result is None or isinstance(op.result, str)):
        raise ValueError("%s: a get reads a string, or None for absent" % where)


def _records(ops):
    """One key's operations as records ordered by invocation; reads of unknown outcome dropped."""
    kept = [op for op in ops if not (op.kind == "get" and op.outcome == "unknown")]
    order = sorted(range(len(kept)), key=lambda i: kept[i].invoked)
    recs = []
    for seq, i in enumerate(order):
        op = kept[i]
        code = _code_of(op)
        recs.append(_Rec(op, seq, code, op.invoked, op.completed if code in _KNOWN_CODES else None))
    return recs


# ---------------------------------------------------------------------------------------------
# The search.

@dataclass
class _Search:
    status: str                 # "ok", "fail" or "budget"
    states: int                 # states visited
    unplaced: Optional[_Rec]    # on "fail": the op whose return the search could not get past
    witness: List[_Rec]         # on "ok": the linearization found


class _Other:
    """The canonical value standing for every value no operation reads or compares with: no
    operation can tell them apart, so states that differ only there are one state (rule 6)."""

    def __repr__(self):
        return "<a value nothing observes>"


_OTHER = _Other()


def _useful_unknowns(recs):
    """The unknown writes something could use right after them, and the values operations
    observe (read, or compare with). An unknown write is useful when its value is read by a get,
    expected by a successful cas or by a useful unknown cas, or when a failed cas that could
    follow it exists; by rule 3 the others are never needed. The observed values are those
    rule 6 keeps apart."""
    observed = set()
    last_failed_cas = None
    for r in recs:
        if r.code == GET:
            observed.add(r.result)
        elif r.code in (CAS_OK, CAS_FAIL):
            observed.add(r.expected)
        if r.code == CAS_FAIL and (last_failed_cas is None or r.comp > last_failed_cas):
            last_failed_cas = r.comp
    writers = {}
    for r in recs:
        if r.code in (U_PUT, U_CAS):
            writers.setdefault(r.value, []).append(r)
    useful = {}
    todo = [r for r in recs if r.code in (U_PUT, U_CAS) and (
        r.value in observed or (last_failed_cas is not None and r.inv <= last_failed_cas))]
    while todo:  # an unknown cas made useful makes the writes of its expected value useful
        r = todo.pop()
        if r.seq in useful:
            continue
        useful[r.seq] = r
        if r.code == U_CAS and r.expected not in observed:
            observed.add(r.expected)
            todo.extend(writers.get(r.expected, ()))
    return sorted(useful.values(), key=lambda r: (r.inv, r.seq)), observed


class _Cache:
    """The states explored: (known operations linearized, value) -> the sets of unknown
    operations used there (rule 5). The bitset of known operations is stored as (the lowest
    index not linearized, the bits from there): operations are linearized roughly in order, so
    that keeps the keys small and cheap to hash."""

    def __init__(self):
        self.seen = {}

    def add(self, kbits, state, ubits):
        """Record the state; False when it, or a state that dominates it, was seen before."""
        low = (~kbits & (kbits + 1)).bit_length() - 1
        key = (low, kbits >> low, state)
        prev = self.seen.get(key)
        if prev is None:
            self.seen[key] = ubits
            return True
        if type(prev) is int:
            if prev & ~ubits == 0:
                return False
            self.seen[key] = [prev, ubits]
            return True
        for used in prev:
            if used & ~ubits == 0:
                return False
        prev.append(ubits)
        return True


class _Entries:
    """The calls and returns of the operations of known outcome, sorted by time (a call before a
    return at the same nanosecond: they overlap), in a circular doubly linked list whose sentinel
    is entry len(entries). Lifting an operation unlinks its call and its return; unlifting, done
    in the reverse order of lifting (the search backtracks), links them back."""

    def __init__(self, known):
        order = []
        for i, r in enumerate(known):
            order.append((r.inv, 0, i))
            order.append((r.comp, 1, i))
        order.sort()
        n = len(order)
        self.sentinel = n
        self.time = [t for t, _, _ in order] + [None]
        self.is_call = [kind == 0 for _, kind, _ in order] + [False]
        self.op = [i for _, _, i in order] + [-1]
        self.nxt = list(range(1, n + 1)) + [0]
        self.prv = [n] + list(range(n))
        self.call = [0] * len(known)
        self.ret = [0] * len(known)
        for pos, (_, kind, i) in enumerate(order):
            if kind == 0:
                self.call[i] = pos
            else:
                self.ret[i] = pos

    def lift(self, i):
        nxt, prv = self.nxt, self.prv
        for pos in (self.call[i], self.ret[i]):
            nxt[prv[pos]] = nxt[pos]
            prv[nxt[pos]] = prv[pos]

    def unlift(self, i):
        nxt, prv = self.nxt, self.prv
        for pos in (self.ret[i], self.call[i]):
            nxt[prv[pos]] = pos
            prv[nxt[pos]] = pos


class _Unknowns:
    """The useful unknown writes, in classes of interchangeable ones (same code and canonical
    parameters): of a class, only the latest invoked not yet used is tried. Using an earlier one
    instead is never better: availability only grows along a path (an op invoked by the horizon
    stays so), so any continuation after using the earlier one works after using the later one
    with the two swapped. Classes are ordered by their first invocation, so that those invoked
    by a horizon are a prefix."""

    def __init__(self, unknown, canon):
        by_class = {}
        for j, r in enumerate(unknown):
            by_class.setdefault(_params(r, canon), []).append(j)
        self.classes = sorted(by_class.items(), key=lambda kv: unknown[kv[1][0]].inv)
        self.first_inv = [unknown[members[0]].inv for _, members in self.classes]
        self.invs = [[unknown[j].inv for j in members] for _, members in self.classes]
        self.by_value = {}        # value written -> the classes writing it
        self.cas_by_value = {}    # value written -> the unknown cas classes writing it
        for c, ((code, a, b), _) in enumerate(self.classes):
            value = a if code == U_PUT else b
            self.by_value.setdefault(value, []).append(c)
            if code == U_CAS:
                self.cas_by_value.setdefault(value, []).append(c)

    def choices(self, wanted, blocked, horizon):
        """The classes worth trying where the known candidates want `wanted` values (or any
        write, when `blocked`): those writing a wanted value, or the value an unknown cas
        expects whose own value is wanted (a chain), invoked by the horizon."""
        available = bisect.bisect_right(self.first_inv, horizon)
        if blocked:
            return range(available)
        need, todo = set(wanted), list(wanted)
        while todo:
            for c in self.cas_by_value.get(todo.pop(), ()):
                expected = self.classes[c][0][1]
                if c < available and expected not in need:
                    need.add(expected)
                    todo.append(expected)
        return sorted(c for v in need for c in self.by_value.get(v, ()) if c < available)

    def candidate(self, c, horizon, ubits):
        """Class c's member to try (its index in `unknown`), or -1."""
        members = self.classes[c][1]
        k = bisect.bisect_right(self.invs[c], horizon) - 1
        while k >= 0 and (ubits >> members[k]) & 1:
            k -= 1
        return members[k] if k >= 0 else -1


def _window_needs(ents, kparams, first_return, state):
    """What the known candidates (the calls before `first_return`) could use an unknown write
    for (rule 3): the values they read or compare with, and whether a failed cas among them is
    blocked by the current value (only a write can unblock it)."""
    wanted, blocked = set(), False
    e = ents.nxt[ents.sentinel]
    while e != first_return:
        code, a, _ = kparams[ents.op[e]]
        if code == GET or code == CAS_OK:
            wanted.add(a)
        elif code == CAS_FAIL and a == state:
            blocked = True
        e = ents.nxt[e]
    return wanted, blocked


class _WGL:
    """One search over one key's records. The state: the known operations linearized (kbits, a
    bitset over `known`), the unknown ones used (ubits, over `unknown`), the register's canonical
    value, and a stack of the operations linearized with what each parent needs to resume: the
    known candidate it tried (an entry of the list), or the unknown candidates it was going
    through (their list, its place in it, and its horizon)."""

    def __init__(self, recs):
        self.known = [r for r in recs if r.known]
        self.unknown, observed = _useful_unknowns(recs)

        def canon(v):  # rule 6
            return v if v in observed else _OTHER

        self.kparams = [_params(r, canon) for r in self.known]
        self.classes = _Unknowns(self.unknown, canon)
        self.ents = _Entries(self.known)
        self.kbit = [1 << i for i in range(len(self.known))]
        self.cache = _Cache()
        self.state = canon(None)
        self.kbits = self.ubits = self.done = 0
        self.after_unknown = False  # the last operation linearized was an unknown write (rule 2)
        self.stack = []
        self.states = 1
        self.furthest = -1  # the furthest first return reached (an entry)
        self.cache.add(0, self.state, 0)

    def run(self, max_states):
        """Depth first: known candidates from `cursor`, then unknown ones from `upos` (-1: the
        known ones are not done yet), else back to the parent."""
        cursor, upos, horizon, choices = self.ents.nxt[self.ents.sentinel], -1, None, ()
        while self.done < len(self.known):
            if self.states > max_states:
                return _Search("budget", self.states, None, [])
            if upos < 0:
                first_return = self.try_known(cursor)
                if first_return is None:
                    cursor = self.ents.nxt[self.ents.sentinel]
                    continue
                horizon, upos = self.ents.time[first_return], 0
                needs = _window_needs(self.ents, self.kparams, first_return, self.state)
                choices = self.classes.choices(*needs, horizon)
            if self.try_unknown(choices, upos, horizon):
                cursor, upos = self.ents.nxt[self.ents.sentinel], -1
                continue
            if not self.stack:
                return _Search("fail", self.states, self.known[self.ents.op[self.furthest]], [])
            cursor, upos, horizon, choices = self.backtrack()
        return _Search("ok", self.states, None,
                       [self.unknown[i] if u else self.known[i] for u, i, _, _, _ in self.stack])

    def try_known(self, e):
        """Try the known candidates from entry e on: None once one is linearized, else the first
        return still in the list (its op must be linearized before anything after it can be;
        the furthest such return names the op that could not be placed when the search fails)."""
        ents, kparams, state = self.ents, self.kparams, self.state
        while ents.is_call[e]:
            i = ents.op[e]
            code, a, b = kparams[i]
            if not (self.after_unknown and code == PUT):
                new = _apply(code, a, b, state)
                if new is not _FAIL and self.cache.add(self.kbits | self.kbit[i], new, self.ubits):
                    self.stack.append((False, i, e, state, self.after_unknown))
                    ents.lift(i)
                    self.kbits |= self.kbit[i]
                    self.done += 1
                    self.state, self.after_unknown = new, False
                    self.states += 1
                    return None
            e = ents.nxt[e]
        if e > self.furthest:
            self.furthest = e
        return e

    def try_unknown(self, choices, k, horizon):
        """Try the classes choices[k:] (rule 3), each by its latest member invoked by the horizon
        and not yet used (rule 4); True once one is linearized."""
        classes, state = self.classes, self.state
        while k < len(choices):
            c = choices[k]
            code, a, b = classes.classes[c][0]
            if not (self.after_unknown and code == U_PUT):
                new = _apply(code, a, b, state)
                if new is not _FAIL:
                    j = classes.candidate(c, horizon, self.ubits)
                    if j >= 0 and self.cache.add(self.kbits, new, self.ubits | (1 << j)):
                        self.stack.append((True, j, (k, horizon, choices), state, self.after_unknown))
                        self.ubits |= 1 << j
                        self.state, self.after_unknown = new, True
                        self.states += 1
                        return True
            k += 1
        return False

    def backtrack(self):
        """Undo the last operation linearized; where the parent resumes: (cursor, upos, horizon,
        choices), after the candidate it had tried."""
        was_unknown, i, resume, self.state, self.after_unknown = self.stack.pop()
        if was_unknown:
            self.ubits &= ~(1 << i)
            k, horizon, choices = resume
            return None, k + 1, horizon, choices
        self.ents.unlift(i)
        self.kbits &= ~self.kbit[i]
        self.done -= 1
        return self.ents.nxt[resume], -1, None, ()


def _search(recs, max_states):
    """Look for a linearization of one key's records (WGL, with the rules of the docstring)."""
    if not any(r.known for r in recs):
        return _Search("ok", 1, None, [])
    return _WGL(recs).run(max_states)


# ---------------------------------------------------------------------------------------------
# Explaining a violation.

class _KeyHistory:
    """One key's records, with every call and return in one time order (the search's order), so
    that a cut "right after this return" is exact even when times tie."""

    def __init__(self, key, recs):
        self.key = key
        self.recs = recs
        events = []
        for r in recs:
            events.append((r.inv, 0, r.seq))
            if r.known:
                events.append((r.comp, 1, r.seq))
        events.sort()
        self.call_pos = {}
        self.ret_pos = {}
        for pos, (_, kind, seq) in enumerate(events):
            (self.call_pos if kind == 0 else self.ret_pos)[seq] = pos
        # The cuts worth trying: right after each answer (between answers nothing can break).
        self.returns = sorted(self.ret_pos.values())
        self.by_ret = {pos: seq for seq, pos in self.ret_pos.items()}

    def cut(self, pos):
        """The history as seen right after event `pos`: ops invoked by then, those still running
        weakened (their answers had not come)."""
        out = []
        for r in self.recs:
            if self.call_pos[r.seq] > pos:
                continue
            if r.known and self.ret_pos[r.seq] > pos:
                w = r.weakened(in_flight=True)
                if w is not None:
                    out.append(w)
            else:
                out.append(r)
        return out


@dataclass
class _Budget:
    """States left for explaining one violation; checks past it count as inconclusive."""
    left: int
    per_search: int
    exhausted: bool = False

    def fails(self, recs):
        """True: proven not linearizable; False: linearizable, or not known (budget)."""
        if self.left <= 0:
            self.exhausted = True
            return False
        s = _search(recs, min(self.per_search, self.left))
        self.left -= s.states
        if s.status == "budget":
            self.exhausted = True
        return s.status == "fail"


def _shortest_failing_cut(hist, budget):
    """The earliest return after which the history is not linearizable (bisection: once lost,
    linearizability stays lost as the cut moves later). The full history is known to fail."""
    lo, hi = -1, len(hist.returns) - 1  # cut at returns[lo] passes (lo = -1: nothing answered)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if budget.fails(hist.cut(hist.returns[mid])):
            hi = mid
        else:
            lo = mid
    return hist.returns[hi]


def _minimal_core(prefix, last, unplaced, budget):
    """A minimal set of known operations of the (failing) prefix that still fails when every
    other operation is weakened; and whether it is proven minimal (the budget held).

    Candidates come most relevant first: the last op, the unplaced one, the writes of what they
    observed, then the rest by latest answer, so that the core stays near the violation. Each
    round finds, by galloping then bisecting, the shortest run of candidates that fails with the
    core so far, and adds the run's last op: without it the run passed, so it is necessary."""
    known = [r for r in prefix if r.known]
    weak = [w for w in (r.weakened() for r in known) if w is not None]
    unknown = [r for r in prefix if not r.known]

    def fails(keep):
        seqs = {r.seq for r in keep}
        recs = list(keep) + [w for w in weak if w.seq not in seqs] + unknown
        recs.sort(key=lambda r: r.seq)
        return budget.fails(recs)

    cands = _by_relevance(known, last, unplaced)
    core = []
    while not fails(core):
        if budget.exhausted or not cands:
            return core + cands, False
        lo, hi = 0, 1  # core + cands[:lo] passes; find hi where core + cands[:hi] fails
        while hi < len(cands) and not fails(core + cands[:hi]):
            lo, hi = hi, min(2 * hi, len(cands))
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if fails(core + cands[:mid]):
                hi = mid
            else:
                lo = mid
        core.append(cands[hi - 1])
        cands = cands[:hi - 1]
    return core, not budget.exhausted


def _by_relevance(known, last, unplaced):
    first = [last] if unplaced.seq == last.seq else [last, unplaced]
    seen = {r.seq for r in first}
    values = {r.result for r in first if r.code == GET} | {r.expected for r in first if r.code == CAS_OK}
    writers = [r for r in known if r.code in (PUT, CAS_OK) and r.value in values and r.seq not in seen]
    seen |= {r.seq for r in writers}
    rest = [r for r in known if r.seq not in seen]
    latest = lambda r: -r.comp  # noqa: E731
    return first + sorted(writers, key=latest) + sorted(rest, key=latest)


def _overlaps(r, lo, hi):
    """Whether r's window [inv, comp] meets [lo, hi] (None: +infinity)."""
    return r.inv <= (hi if hi is not None else r.inv) and (r.comp is None or r.comp >= lo)


@dataclass
class _Violation:
    prefix: List[_Rec]
    cut_time: int
    last: _Rec
    unplaced: _Rec
    core: List[_Rec]
    shown: List[_Rec]
    shortest: bool
    minimal: bool
    stale_unknown: int  # unknown writes invoked before the last op, not printed


def _explain(key, recs, max_states):
    """Everything a human needs about a key known not to be linearizable."""
    hist = _KeyHistory(key, recs)
    budget = _Budget(left=max_states, per_search=max_states)
    cut = _shortest_failing_cut(hist, budget)
    shortest = not budget.exhausted
    prefix = hist.cut(cut)
    last = next(r for r in prefix if r.seq == hist.by_ret[cut])
    s = _search(prefix, max_states)
    unplaced = s.unplaced if s.status == "fail" else last
    core, minimal = _minimal_core(prefix, last, unplaced, budget)
    core_seqs = {r.seq for r in core}
    # Shown: the core, the overlapping ops, the op not placed, and the writes of what the core saw.
    seen_values = {r.result for r in core if r.code == GET} | {r.expected for r in core if r.code == CAS_OK}
    # A write of unknown outcome invoked before the last op overlaps it only because it never
    # answered; those are counted, not printed, unless the core observed their values.
    shown, stale_unknown = {}, 0
    for r in prefix:
        if (r.seq in core_seqs or r.seq == unplaced.seq
                or (r.code in (PUT, CAS_OK, U_PUT, U_CAS) and r.value in seen_values)):
            shown[r.seq] = r
        elif _overlaps(r, last.inv, last.comp):
            if r.known or r.in_flight or r.inv >= last.inv:
                shown[r.seq] = r
            else:
                stale_unknown += 1
    return _Violation(prefix=prefix, cut_time=last.comp, last=last, unplaced=unplaced,
                      core=sorted(core, key=lambda r: r.seq),
                      shown=sorted(shown.values(), key=lambda r: r.seq),
                      shortest=shortest, minimal=minimal, stale_unknown=stale_unknown)


# ---------------------------------------------------------------------------------------------
# Text for humans.

def _v(x):
    return "absent" if x is None else json.dumps(x)


def _describe(r):
    """What the operation did, and what came back (as recorded, and as the checker took it)."""
    op = r.op
    if op.kind == "get":
        what, answer = "get", "-> %s" % _v(op.result)
    elif op.kind == "put":
        what, answer = "put %s" % _v(op.value), "ok"
    else:
        what = "cas %s -> %s" % (_v(op.expected), _v(op.value))
        answer = "swapped" if op.result else "not swapped"
    if op.outcome == "unknown":
        answer = "unknown"
    return what, answer


def _ms(t, t0):
    return "%10.3f" % ((t - t0) / 1e6) if t is not None else "%10s" % "no answer"


def _lines(key, n_key_ops, v):
    first = min(r.inv for r in v.prefix)
    t0 = min(r.inv for r in v.shown)
    core = {r.seq for r in v.core}
    lines = [
        "key %s is not linearizable." % json.dumps(key),
        "%s failing prefix: the first %d of its %d operations (by invocation), cut at %.3f ms "
        "(from its first operation) when p%d's %s was answered; operations still running then count "
        "as unknown (writes) or are left out (reads)."
        % ("The shortest" if v.shortest else "A (search budget reached, maybe not the shortest)",
           len(v.prefix), n_key_ops, (v.cut_time - first) / 1e6, v.last.op.process, v.last.op.kind),
        "* marks the %s core: %s cannot be linearized, alone or together with the prefix's other "
        "writes (whether or not those took effect)%s."
        % ("minimal" if v.minimal else "(search budget reached, maybe not minimal)",
           "this operation" if len(core) == 1 else "these %d operations" % len(core),
           "" if not v.minimal or len(core) == 1 else "; without any one of them the rest can"),
    ]
    if v.stale_unknown:
        lines.append("Not shown: %d write%s of unknown outcome invoked before the last op, which overlap it "
                     "only because no answer came (the core fails whatever they did)."
                     % (v.stale_unknown, "" if v.stale_unknown == 1 else "s"))
    lines.append("Times in ms from the first operation shown (monotonic %d ns):" % t0)
    for r in v.shown:
        what, answer = _describe(r)
        tags = ["answered after the cut, so taken as unknown"] if r.in_flight else []
        if r.seq == v.last.seq:
            tags.append("last: its answer made the prefix fail")
        if r.seq == v.unplaced.seq:
            tags.append("could not be placed")
        lines.append("%s p%-3d %-36s %-11s [%s, %s]%s" % (
            "*" if r.seq in core else " ", r.op.process, what, answer,
            _ms(r.inv, t0), _ms(r.op.completed if r.op.outcome == "ok" else None, t0),
            ("  <- " + "; ".join(tags)) if tags else ""))
    return lines


# ---------------------------------------------------------------------------------------------
# The API.

@dataclass
class Result:
    """The verdict on a whole history.

    ok is True only when every key is linearizable (inconclusive is not ok). For a violation,
    key names the first failing key (in sorted order) and the rest describes it; violations and
    inconclusive list every key in that state."""
    ok: bool
    verdict: str                                  # "linearizable", "violation" or "inconclusive"
    keys: int = 0                                 # keys checked
    operations: int = 0                           # operations checked
    states: int = 0                               # search states visited, all keys
    violations: List[str] = field(default_factory=list)
    inconclusive: List[str] = field(default_factory=list)
    key: Optional[str] = None                     # the key described below
    prefix: List[Op] = field(default_factory=list)       # the shortest failing prefix
    last: Optional[Op] = None                     # whose answer made the prefix fail
    unplaced: Optional[Op] = None                 # the op the search could not place
    core: List[Op] = field(default_factory=list)         # the minimal failing core
    sub_history: List[Op] = field(default_factory=list)  # the operations printed
    lines: List[str] = field(default_factory=list)       # the explanation, for humans

    def summary(self):
        """One line."""
        if self.verdict == "linearizable":
            return "linearizable: %d operations on %d keys (%d states searched)" % (
                self.operations, self.keys, self.states)
        if self.verdict == "violation":
            more = ""
            if len(self.violations) > 1:
                more += "; also keys %s" % ", ".join(json.dumps(k) for k in self.violations[1:])
            if self.inconclusive:
                more += "; inconclusive on %s" % ", ".join(json.dumps(k) for k in self.inconclusive)
            return "NOT linearizable: key %s (a failing prefix of %d operations, %d in the core)%s" % (
                json.dumps(self.key), len(self.prefix), len(self.core), more)
        return ("inconclusive: the search on key%s %s passed its budget of states without an answer "
                "(this is not a pass; raise max_states)" % (
                    "s" if len(self.inconclusive) > 1 else "",
                    ", ".join(json.dumps(k) for k in self.inconclusive)))

    def explain(self):
        """The explanation as a list of lines (JSON-friendly); the summary when there is none."""
        return [self.summary()] + self.lines

    def __str__(self):
        return "\n".join(self.explain())


def check(ops: Iterable[Op], max_states: int = DEFAULT_MAX_STATES) -> Result:
    """Check a history (any number of keys, operations in any order). Each key's search may visit
    max_states states before the key is inconclusive; explaining a violation gets as many again.
    Raises ValueError on bad input."""
    ops = list(ops)
    by_key: Dict[str, List[Op]] = {}
    for n, op in enumerate(ops, 1):
        _validate(op, n)
        by_key.setdefault(op.key, []).append(op)
    result = Result(ok=True, verdict="linearizable", keys=len(by_key), operations=len(ops))
    for key in sorted(by_key, key=str):
        recs = _records(by_key[key])
        s = _search(recs, max_states)
        result.states += s.states
        if s.status == "budget":
            result.inconclusive.append(key)
        elif s.status == "fail":
            result.violations.append(key)
            if result.key is None:
                _describe_violation(result, key, recs, len(by_key[key]), max_states)
    if result.violations:
        result.ok, result.verdict = False, "violation"
    elif result.inconclusive:
        result.ok, result.verdict = False, "inconclusive"
        result.key = result.inconclusive[0]
    return result


def _describe_violation(result, key, recs, n_key_ops, max_states):
    v = _explain(key, recs, max_states)
    result.key = key
    result.prefix = [r.op for r in v.prefix]
    result.last = v.last.op
    result.unplaced = v.unplaced.op
    result.core = [r.op for r in v.core]
    result.sub_history = [r.op for r in v.shown]
    result.lines = _lines(key, n_key_ops, v)


def load_history(path) -> List[Op]:
    """Read a history: one JSON object per line with the Op fields (blank lines skipped)."""
    names = {f.name for f in dataclasses.fields(Op)}
    ops = []
    with (sys.stdin if path == "-" else open(path)) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                fields = json.loads(line)
            except ValueError as e:
                raise ValueError("line %d: not JSON: %s" % (n, e))
            if not isinstance(fields, dict) or set(fields) != names:
                raise ValueError("line %d: needs exactly the fields %s" % (n, ", ".join(sorted(names))))
            ops.append(Op(**fields))
    return ops


def main(argv):
    p = argparse.ArgumentParser(description="Check a recorded history for linearizability "
                                            "(a register per key).")
    p.add_argument("history", help="a .jsonl file, one operation per line ('-': stdin)")
    p.add_argument("--max-states", type=int, default=DEFAULT_MAX_STATES,
                   help="search states per key before giving up as inconclusive")
    args = p.parse_args(argv)
    try:
        result = check(load_history(args.history), max_states=args.max_states)
    except (OSError, ValueError, TypeError) as e:
        print("bad input: %s" % e, file=sys.stderr)
        return 2
    print(result)
    return {"linearizable": 0, "violation": 1}.get(result.verdict, 2)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
