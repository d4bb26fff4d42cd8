#!/usr/bin/env python3
"""etcd's watch guarantees, checked on the watches recorded in a fault run (issue #17).

The record (watchers.py makes it; run_faults.py drives it). A watcher is one logical watch that
a client keeps open through faults, as etcd's clients do: a stream on one member, and when that
stream breaks (the member was killed, or went silent), a new stream on another member from the
revision after the last one it had; each stream is a Segment. A Segment keeps every
WatchResponse in the order it came (Response: header revision, created, canceled,
compact_revision, the events), the member, and the start revision it asked for (0: from the
member's current revision on).

The truth (Truth): after the run, with the members converged, one watch from revision 1 (or, if
history was compacted, from the compacted revision it must start from, which the report says)
over the whole key space on the leader, read up to the final revision: every event of the
cluster's history, in order.

What is checked, per watcher (the names are those of etcd's API guarantees and its robustness
tests, tests/robustness/validate/watch.go):
  ordered      events come in revision order, within a segment and across the watcher's
               segments; no event before the segment's start revision; no event of a revision
               greater than the header revision of the response that carries it.
  unique       no (revision, key) event twice in a watcher, across its segments too.
  atomic       all the events of one revision come in one response: a response's first event
               is of a later revision than the previous response's last.
  bookmarkable after a progress notification at revision P (a response with no events, neither
               created nor canceled), no event of revision <= P comes.
  reliable     gap-free: a segment's events are exactly the truth's events in the watched range
               from its start revision up to the last revision it is known to have everything
               of (its last event's, or its last progress notification's, or for a watch from
               "now" the revision it was created at), with the same key, type, value,
               create_revision and version; with prev_kv asked, each event's prev_kv is the
               key's previous state in the truth.
  resumable    each segment after the first starts at the revision after the last one the
               watcher had everything of (known_revision(), which the recorder uses too); a
               stream canceled because its start was compacted may go on from the compacted
               revision.
And on the truth against the client history (History's side lists in run_faults.py):
  history      the cluster starts at revision 1 (as etcd's does) and the first write makes 2;
               the truth's revisions are consecutive from there to the final revision, each
               with at least one event, every (revision, key) once; versions count up by one
               and create_revision stays put while a key lives; every acknowledged write (put,
               or cas that swapped) is a PUT of its key with its value at the revision its
               answer's header gave; every value in the truth was written by some write to
               that key (acknowledged, or of unknown outcome), none twice, none by a cas that
               answered that it did not swap; each key's last value is what the final
               linearizable read returned.

check() returns a WatchResult: ok, the violations (each names the guarantee, the watcher, the
segment, its member and start revision, and shows the expected and received events around the
first difference), and counts for the run's report.
"""
import dataclasses
import json
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

GUARANTEES = ("ordered", "unique", "atomic", "bookmarkable", "reliable", "resumable", "protocol", "history")
CONTEXT = 3  # events shown on each side of a first difference
MAX_PER_SEGMENT = 1  # violations of one guarantee reported per segment (the first explains it)


@dataclass(frozen=True)
class Event:
    """One event of a watch. value is None for a DELETE. prev is the prev_kv that came with it,
    as (value, mod_revision), when the watch asked for prev_kv and one came; else None."""
    type: str
    key: str
    value: Optional[str]
    mod_revision: int
    create_revision: int = 0
    version: int = 0
    prev: Optional[Tuple[Optional[str], int]] = None

    def core(self):
        """What the truth must agree on (prev_kv is checked on its own)."""
        return (self.mod_revision, self.key, self.type, self.value, self.create_revision, self.version)

    def __str__(self):
        text = "r%d %s %s" % (self.mod_revision, self.type, self.key)
        if self.type == "PUT":
            text += "=%r (create %d, version %d)" % (self.value, self.create_revision, self.version)
        return text


@dataclass
class Response:
    """One WatchResponse as the client got it. revision is the header's."""
    revision: int
    events: List[Event] = field(default_factory=list)
    created: bool = False
    canceled: bool = False
    compact_revision: int = 0
    cancel_reason: str = ""
    watch_id: int = 0

    @property
    def progress(self):
        """A progress notification (etcd's IsProgressNotify): every event up to `revision` has
        been delivered."""
        return not self.events and not self.created and not self.canceled and \
            self.compact_revision == 0 and self.revision != 0


@dataclass
class Segment:
    """One stream of a watcher. start_revision is the one asked for (0: from now on). key and
    range_end as in WatchCreateRequest ("" range_end: the key alone; "\\0": every key >= key).
    end says why the stream ended, as the recorder saw it."""
    watcher: int
    index: int
    member: str
    start_revision: int
    key: str = "k"
    range_end: str = "l"
    prev_kv: bool = False
    responses: List[Response] = field(default_factory=list)
    end: str = ""

    def created(self):
        """The created response, when the stream got one first and it was not a refusal."""
        if self.responses and self.responses[0].created and not self.responses[0].canceled:
            return self.responses[0]
        return None

    def describe(self):
        return "watcher %d, segment %d on %s (start revision %s%s%s)" % (
            self.watcher, self.index, self.member,
            self.start_revision if self.start_revision else "0 = now",
            ", resumed" if self.index > 0 else "", ", prev_kv" if self.prev_kv else "")

    def in_range(self, key):
        return in_range(key, self.key, self.range_end)


@dataclass
class Truth:
    """The cluster's history of events, read after the run. start: the first revision `events`
    covers (1, or the compacted revision the watch had to start from); end: the last (the final
    revision). base_revision: the cluster's revision before any write. note: how it was read."""
    events: List[Event]
    start: int
    end: int
    base_revision: int = 1
    note: str = ""


@dataclass
class Writes:
    """What the clients wrote: acknowledged writes as (key, value, revision of the answer's
    header); writes of unknown outcome as (key, value); cas writes that answered "not swapped"
    as (key, value); and each key's value in the final linearizable read (None: absent)."""
    acknowledged: List[Tuple[str, str, int]] = field(default_factory=list)
    unknown: List[Tuple[str, str]] = field(default_factory=list)
    failed: List[Tuple[str, str]] = field(default_factory=list)
    final: Dict[str, Optional[str]] = field(default_factory=dict)


@dataclass
class Violation:
    guarantee: str
    text: str

    def __str__(self):
        return "%s: %s" % (self.guarantee, self.text)


@dataclass
class WatchResult:
    ok: bool
    violations: List[Violation]
    stats: Dict[str, object]

    def summary(self, max_violations=20):
        """The report's "watch" entry (a JSON-able dict)."""
        out = dict(self.stats)
        out["ok"] = self.ok
        out["violations"] = [str(v) for v in self.violations[:max_violations]]
        if len(self.violations) > max_violations:
            out["violations_left_out"] = len(self.violations) - max_violations
        return out


def in_range(key, begin, range_end):
    if range_end == "":
        return key == begin
    if range_end == "\0":
        return key >= begin
    return begin <= key < range_end


def known_revision(segment, known):
    """The revision up to which a watcher has had every event, once `segment` is over, given
    `known` before it (None: nothing yet). A segment from start revision s knows s - 1 once
    created; a watch from "now" knows the revision it was created at; then each event, and each
    progress notification, moves it on. A stream canceled because its start was compacted
    (compact_revision C) may go on from C: it knows C - 1. A segment that got no created
    response knows nothing new. The recorder resumes from known_revision() + 1."""
    created = segment.created()
    if created is None:
        return known
    start = segment.start_revision
    known = max(known or 0, start - 1 if start > 0 else created.revision)
    for r in segment.responses:
        if r.events:
            known = max(known, r.events[-1].mod_revision)
        elif r.progress:
            known = max(known, r.revision)
        elif r.canceled and r.compact_revision > 0:
            known = max(known, r.compact_revision - 1)
    return known


def _around(events, i, lo=CONTEXT, hi=CONTEXT):
    part = events[max(0, i - lo):i + hi + 1]
    return "[" + "; ".join(str(e) for e in part) + "]" if part else "[nothing]"


class _Checker:
    def __init__(self, segments, truth, writes):
        self.segments = segments
        self.truth = truth
        self.writes = writes
        self.violations = []
        self.by_revision = {}  # revision -> the truth's events of it
        for e in truth.events:
            self.by_revision.setdefault(e.mod_revision, []).append(e)
        self.prev_of = self._prev_states()

    def fail(self, guarantee, text):
        self.violations.append(Violation(guarantee, text))

    # ---- the truth against the history ----

    def _prev_states(self):
        """(revision, key) -> the key's state before that event in the truth, as (value,
        mod_revision), None when absent, or "unknown" when the truth starts too late to say."""
        prev = {}
        state = {}
        complete = self.truth.start <= self.truth.base_revision + 1
        for e in self.truth.events:
            if e.key in state:
                prev[(e.mod_revision, e.key)] = state[e.key]
            else:
                prev[(e.mod_revision, e.key)] = None if complete else "unknown"
            state[e.key] = (e.value, e.mod_revision) if e.type == "PUT" else None
        return prev

    def check_truth(self):
        t = self.truth
        if t.base_revision != 1:
            self.fail("history", "the cluster was at revision %d before any write; a fresh etcd cluster is at 1 "
                                 "(its first write makes revision 2)" % t.base_revision)
        seen = set()
        last = 0
        for i, e in enumerate(t.events):
            if e.mod_revision < last:
                self.fail("history", "the truth's events go back from revision %d to %d: %s" % (
                    last, e.mod_revision, _around(t.events, i)))
                return
            last = e.mod_revision
            if (e.mod_revision, e.key) in seen:
                self.fail("history", "the truth has two events of key %s at revision %d: %s" % (
                    e.key, e.mod_revision, _around(t.events, i)))
            seen.add((e.mod_revision, e.key))
        first = max(t.start, t.base_revision + 1)
        missing = [r for r in range(first, t.end + 1) if r not in self.by_revision]
        if missing:
            self.fail("history", "revisions with no event in the truth (%d..%d should all have one): %s%s%s" % (
                first, t.end, _ranges(missing), "; " + t.note if t.note else "",
                "; its last event: %s" % t.events[-1] if t.events else "; it has no event at all"))
        beyond = [e for e in t.events if e.mod_revision > t.end or e.mod_revision < t.start]
        if beyond:
            self.fail("history", "truth events outside revisions %d..%d: %s" % (t.start, t.end, _around(beyond, 0, 0)))
        self._check_key_model()
        self._check_writes()

    def _check_key_model(self):
        state = {}  # key -> (create_revision, version) of the live key
        complete = self.truth.start <= self.truth.base_revision + 1
        for i, e in enumerate(self.truth.events):
            if e.key not in state and not complete:
                # The key's life before the truth starts is unknown: take this event's word.
                state[e.key] = (e.create_revision, e.version) if e.type == "PUT" else None
                continue
            live = state.get(e.key)
            if e.type == "PUT":
                want = (live[0], live[1] + 1) if live else (e.mod_revision, 1)
                if (e.create_revision, e.version) != want:
                    self.fail("history", "%s: expected create %d, version %d from the key's earlier events: %s" % (
                        e, want[0], want[1], _around(self.truth.events, i)))
                    return
                state[e.key] = want
            else:
                state[e.key] = None

    def _check_writes(self):
        w = self.writes
        truth_puts = {}  # (key, value) -> revisions
        for e in self.truth.events:
            if e.type == "PUT":
                truth_puts.setdefault((e.key, e.value), []).append(e.mod_revision)
        for key, value, revision in w.acknowledged:
            if revision < self.truth.start:
                continue  # compacted: the truth cannot show it
            at = self.by_revision.get(revision, [])
            if not any(e.type == "PUT" and e.key == key and e.value == value for e in at):
                where = truth_puts.get((key, value))
                self.fail("history", "the acknowledged write %s=%r (its answer said revision %d) is not in the truth "
                                     "there: revision %d has %s; %s" % (
                                         key, value, revision, revision,
                                         "; ".join(str(e) for e in at) or "no event",
                                         "the value is at revision(s) %s" % where if where
                                         else "the value is nowhere in the truth"))
        written = {(k, v) for k, v, _ in w.acknowledged} | set(w.unknown)
        failed = set(w.failed)
        for (key, value), revisions in sorted(truth_puts.items(), key=lambda kv: kv[1][0]):
            if (key, value) not in written:
                if (key, value) in failed:
                    self.fail("history", "%s=%r at revision %d was written by a cas that answered that it did "
                                         "not swap" % (key, value, revisions[0]))
                else:
                    self.fail("history", "%s=%r at revision %d: no write of the history wrote it" % (
                        key, value, revisions[0]))
            if len(revisions) > 1:
                self.fail("history", "%s=%r was written more than once, at revisions %s (every write's value is "
                                     "unique: one write applied twice)" % (key, value, revisions))
        last = {}
        for e in self.truth.events:
            last[e.key] = e.value if e.type == "PUT" else None
        complete = self.truth.start <= self.truth.base_revision + 1
        for key, value in sorted(w.final.items()):
            if key not in last and not complete:
                continue  # its last event was compacted
            if last.get(key) != value:
                self.fail("history", "the final read of %s returned %r but the truth's last event of it leaves %r" % (
                    key, value, last.get(key)))

    # ---- each watcher ----

    def check_watchers(self):
        by_watcher = {}
        for s in self.segments:
            by_watcher.setdefault(s.watcher, []).append(s)
        for wid in sorted(by_watcher):
            self.check_watcher(sorted(by_watcher[wid], key=lambda s: s.index))

    def check_watcher(self, segments):
        known = None  # the revision up to which this watcher has had every event
        seen = set()  # (revision, key) of every event it got
        last_event = None  # its last event, across segments
        compacted_at = None  # a compacted revision a stream of it was canceled for
        for seg in segments:
            if not seg.responses:
                continue  # never connected: nothing came, nothing to check
            first = seg.responses[0]
            if not first.created:
                self.fail("protocol", "%s: the first response is not the created one: %r" % (seg.describe(), first))
                continue
            if first.canceled:
                continue  # refused at creation (the reason is in the record): nothing came
            self._check_resume(seg, known, compacted_at)
            last_event = self._check_segment(seg, seen, last_event)
            for r in seg.responses:
                if r.canceled and r.compact_revision > 0:
                    compacted_at = r.compact_revision
            known = known_revision(seg, known)

    def _check_resume(self, seg, known, compacted_at):
        if known is None:
            return
        want = known + 1
        if seg.start_revision == want:
            return
        if compacted_at is not None and seg.start_revision == compacted_at:
            return  # known_revision() took the compacted revision into account already
        if seg.start_revision == 0 or seg.start_revision > want:
            upto = self.truth.end if seg.start_revision == 0 else seg.start_revision - 1
            skipped = [e for e in self.truth.events if want <= e.mod_revision <= upto and seg.in_range(e.key)]
            self.fail("resumable", "%s: the watcher had every event up to revision %d, so it had to resume from %d, "
                                   "but asked for %s; skipped truth events: %s" % (
                                       seg.describe(), known, want, seg.start_revision or "now",
                                       _around(skipped, 0, 0, 2 * CONTEXT)))
        else:
            self.fail("resumable", "%s: the watcher had every event up to revision %d, so it had to resume from %d, "
                                   "but asked again from %d (events it had would come twice)" % (
                                       seg.describe(), known, want, seg.start_revision))

    def _check_segment(self, seg, seen, last_event):
        """Every check on one segment but the resume; returns the watcher's last event after it."""
        created = seg.responses[0]
        lo = seg.start_revision if seg.start_revision > 0 else created.revision + 1
        counts = {}

        def fail(guarantee, text):
            counts[guarantee] = counts.get(guarantee, 0) + 1
            if counts[guarantee] <= MAX_PER_SEGMENT:
                self.fail(guarantee, "%s: %s" % (seg.describe(), text))

        received = []
        mark = 0  # the latest progress notification's revision
        high = 0  # the revision up to which the responses say this segment has had everything
        prev_last = None  # the last event's revision of the previous response with events
        for ri, r in enumerate(seg.responses):
            if ri > 0 and r.created:
                fail("protocol", "response %d is a second created response" % ri)
            if r.progress:
                mark = max(mark, r.revision)
                high = max(high, r.revision)
                continue
            if not r.events:
                continue
            if prev_last is not None and r.events[0].mod_revision == prev_last:
                fail("atomic", "revision %d is split across responses %d and %d: %s | %s" % (
                    prev_last, ri - 1, ri, "; ".join(str(e) for e in seg.responses[ri - 1].events[-CONTEXT:]),
                    "; ".join(str(e) for e in r.events[:CONTEXT])))
            for e in r.events:
                where = "response %d (header revision %d)" % (ri, r.revision)
                if last_event is not None and e.mod_revision < last_event.mod_revision:
                    fail("ordered", "%s came after %s, in %s" % (e, last_event, where))
                if e.mod_revision < lo:
                    fail("ordered", "%s is before the segment's start revision %d, in %s" % (e, lo, where))
                if e.mod_revision > r.revision:
                    fail("ordered", "%s is of a revision greater than its response's header revision, in %s" % (
                        e, where))
                if (e.mod_revision, e.key) in seen:
                    fail("unique", "%s came twice to this watcher (again in %s)" % (e, where))
                if e.mod_revision <= mark:
                    fail("bookmarkable", "%s came after a progress notification at revision %d, in %s" % (
                        e, mark, where))
                if not seg.in_range(e.key):
                    fail("reliable", "%s is outside the watched range [%r, %r), in %s" % (
                        e, seg.key, seg.range_end, where))
                seen.add((e.mod_revision, e.key))
                received.append(e)
                last_event = e
                high = max(high, e.mod_revision)
            prev_last = r.events[-1].mod_revision
        if seg.start_revision == 0:
            high = max(high, created.revision)
        if high > self.truth.end:
            fail("reliable", "the segment has revision %d but the cluster's final revision is %d" % (
                high, self.truth.end))
        self._check_gap_free(seg, received, lo, high, fail)
        if seg.prev_kv:
            self._check_prev_kv(received, fail)
        return last_event

    def _check_gap_free(self, seg, received, lo, high, fail):
        t = self.truth
        lo2, hi2 = max(lo, t.start), min(high, t.end)
        expected = [e for e in t.events if lo2 <= e.mod_revision <= hi2 and seg.in_range(e.key)]
        got = [e for e in received if lo2 <= e.mod_revision <= hi2]
        n = min(len(expected), len(got))
        i = next((j for j in range(n) if expected[j].core() != got[j].core()), n)
        if i == len(expected) == len(got):
            return
        if i == n and len(got) < len(expected):
            what = "missing %s" % expected[i]
        elif i == n:
            what = "unexpected %s" % got[i]
        else:
            missing = next((e for e in expected[i:] if e.core() not in {g.core() for g in got}), None)
            what = "expected %s, received %s%s" % (
                expected[i], got[i], "; %s never came" % missing if missing is not None else "")
        fail("reliable", "its events from revision %d to %d (%d expected, %d received) differ from the truth at "
                         "position %d: %s.\n    expected around: %s\n    received around: %s" % (
                             lo2, hi2, len(expected), len(got), i, what, _around(expected, i), _around(got, i)))

    def _check_prev_kv(self, received, fail):
        for e in received:
            want = self.prev_of.get((e.mod_revision, e.key), "unknown")
            if want == "unknown":
                continue
            if e.prev != want:
                fail("reliable", "%s came with prev_kv %s; the key's previous state in the truth is %s" % (
                    e, _prev_text(e.prev), _prev_text(want)))

    def stats(self):
        with_stream = [s for s in self.segments if s.created() is not None]
        responses = [r for s in self.segments for r in s.responses]
        watchers = sorted({s.watcher for s in self.segments})
        return {
            "watchers": len(watchers),
            "segments": len(with_stream),
            "segments_not_connected": len(self.segments) - len(with_stream),
            "resumes": sum(1 for s in with_stream if s.index > 0),
            "events": sum(len(r.events) for r in responses),
            "progress_notifications": sum(1 for r in responses if r.progress),
            "segment_ends": _count(s.end.split(":")[0] for s in self.segments),
            "starts": {str(w): next((s.start_revision for s in self.segments if s.watcher == w), None)
                       for w in watchers},
            "truth_events": len(self.truth.events),
            "truth_revisions": [self.truth.start, self.truth.end],
            "base_revision": self.truth.base_revision,
            "first_write_revision": min((r for _, _, r in self.writes.acknowledged), default=None),
            "truth_note": self.truth.note,
        }


def _count(items):
    out = {}
    for i in items:
        out[i] = out.get(i, 0) + 1
    return out


def _prev_text(p):
    return "none (the key was absent)" if p is None else "%r (mod revision %d)" % p


def _ranges(revisions):
    out = []
    start = prev = revisions[0]
    for r in revisions[1:] + [None]:
        if r is not None and r == prev + 1:
            prev = r
            continue
        out.append(str(start) if start == prev else "%d..%d" % (start, prev))
        if r is not None:
            start = prev = r
    return ", ".join(out[:20]) + (" (and %d more ranges)" % (len(out) - 20) if len(out) > 20 else "")


def check(segments, truth, writes):
    """Checks every segment of every watcher against the truth, and the truth against the
    writes; returns a WatchResult."""
    c = _Checker(segments, truth, writes)
    c.check_truth()
    c.check_watchers()
    return WatchResult(ok=not c.violations, violations=c.violations, stats=c.stats())


# ---- the record as JSON (run_faults.py --out writes it; this module's command line reads it) ----

def to_json(segments, truth, writes):
    return json.dumps({"segments": [dataclasses.asdict(s) for s in segments],
                       "truth": dataclasses.asdict(truth), "writes": dataclasses.asdict(writes)})


def from_json(text):
    d = json.loads(text)

    def event(e):
        e = dict(e)
        if e.get("prev") is not None:
            e["prev"] = tuple(e["prev"])
        return Event(**e)

    segments = []
    for s in d["segments"]:
        s = dict(s)
        s["responses"] = [Response(**dict(r, events=[event(e) for e in r["events"]])) for r in s["responses"]]
        segments.append(Segment(**s))
    t = dict(d["truth"])
    t["events"] = [event(e) for e in t["events"]]
    w = d["writes"]
    writes = Writes(acknowledged=[tuple(x) for x in w["acknowledged"]], unknown=[tuple(x) for x in w["unknown"]],
                    failed=[tuple(x) for x in w["failed"]], final=w["final"])
    return segments, Truth(**t), writes


def main(argv):
    """/usr/bin/python3 tests/faults/watch_guarantees.py watch-<seed>.json: checks a saved record."""
    if len(argv) != 1:
        print(main.__doc__, file=sys.stderr)
        return 2
    with open(argv[0]) as f:
        result = check(*from_json(f.read()))
    print(json.dumps(result.summary(max_violations=100), indent=2, sort_keys=True))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
