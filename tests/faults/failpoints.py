"""The faults the harness makes with keeld's failpoints (framework/failpoint/failpoint.h):
network partitions and lossy or slow peer links (the peer links' failpoints, inside each
member's PeerNetwork, so they work the same over either transport), a slow disk (a sleep before
the WAL write and its sync), and crashes at chosen points (before or after the WAL sync, before or
after a Backend commit, around installing a leader's snapshot).

Each member reads its own failpoint file (KEEL_FAILPOINTS_FILE) again whenever it changes; this
module writes those files whole and renames them into place. A link is cut by its sender: the
frames member a sends to member b are lost at a ("peerSend/<b's id>=drop").
"""
import os

# The places a member is made to crash (etcd's failpoint names, where etcd has the same place).
SNAPSHOT_POINTS = ("raftBeforeSaveSnap", "raftAfterSaveSnap", "raftBeforeApplySnap",
                   "raftAfterApplySnap")
CRASH_POINTS = ("raftBeforeSave", "raftAfterSave", "beforeCommit", "afterCommit") + SNAPSHOT_POINTS

# The faults of this module, as run_faults.py names them.
KINDS = ("partition-leader", "partition-minority", "bridge", "one-way", "lossy-links",
         "slow-links", "slow-disk", "crash-point")


class Failpoints:
    """The failpoints of every member of `cluster`. Create it before the cluster starts (it gives
    each member its failpoint file), and call learn_ids() once the members serve."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.ids = {}  # member name -> its id, in hex
        self.terms = {m.name: {} for m in cluster.members}  # member name -> {failpoint: term}
        self.paths = {}
        for m in cluster.members:
            self.paths[m.name] = os.path.join(m.data_dir, "failpoints")
            m.env["KEEL_FAILPOINTS_FILE"] = self.paths[m.name]
            self._write(m)

    def learn_ids(self):
        for m in self.cluster.members:
            status = self.cluster.status(m)
            if status is None:
                raise RuntimeError("member %s does not answer its status" % m.name)
            self.ids[m.name] = "%x" % int(status["header"]["member_id"])

    def _write(self, member):
        path = self.paths[member.name]
        with open(path + ".tmp", "w") as f:
            for name, term in sorted(self.terms[member.name].items()):
                f.write("%s=%s\n" % (name, term))
        os.replace(path + ".tmp", path)

    def apply(self, terms):
        """Makes each member's failpoints exactly terms[member] (a dict); members left out get
        none."""
        for m in self.cluster.members:
            wanted = dict(terms.get(m, {}))
            if wanted != self.terms[m.name]:
                self.terms[m.name] = wanted
                self._write(m)

    def heal(self):
        self.apply({})

    def link(self, a, b):
        """The failpoint of a's link to b."""
        return "peerSend/" + self.ids[b.name]

    def partition(self, groups):
        """Cuts every link between members of different groups, both ways."""
        terms = {}
        for i, group in enumerate(groups):
            for a in group:
                for j, other in enumerate(groups):
                    if i != j:
                        for b in other:
                            terms.setdefault(a, {})[self.link(a, b)] = "drop"
        self.apply(terms)

    def every_link(self, term):
        """Sets every link of every member to `term`."""
        members = self.cluster.members
        self.apply({a: {self.link(a, b): term for b in members if b is not a} for a in members})


def inject(kind, rng, cluster, failpoints, stop, leader_or_any):
    """Makes one fault of `kind` (one of KINDS), holds it a while (unless `stop` is set
    meanwhile), and heals it. `leader_or_any()` is the leader, or a member picked at random when
    none is agreed on. Returns what to count it as in the report ("crash-point <point>" for a
    crash), or None for a crash point the member never got to."""
    members = cluster.members
    hold = lambda: stop.wait(rng.uniform(0.5, 3.0))  # noqa: E731
    if kind == "crash-point":
        return crash_at_point(rng, failpoints, stop, rng.choice(members))
    try:
        if kind == "partition-leader":
            leader = leader_or_any()
            failpoints.partition([[leader], [m for m in members if m is not leader]])
        elif kind == "partition-minority":
            shuffled = rng.sample(members, len(members))
            minority = shuffled[:(len(members) - 1) // 2]
            failpoints.partition([minority, shuffled[len(minority):]])
        elif kind == "bridge":
            # Two sides that cannot reach each other, and one member that reaches both.
            shuffled = rng.sample(members, len(members))
            bridge, rest = shuffled[0], shuffled[1:]
            half = len(rest) // 2
            left, right = rest[:half], rest[half:]
            terms = {}
            for a in left:
                for b in right:
                    terms.setdefault(a, {})[failpoints.link(a, b)] = "drop"
                    terms.setdefault(b, {})[failpoints.link(b, a)] = "drop"
            failpoints.apply(terms)
        elif kind == "one-way":
            leader = leader_or_any()
            other = rng.choice([m for m in members if m is not leader])
            a, b = (leader, other) if rng.random() < 0.5 else (other, leader)
            failpoints.apply({a: {failpoints.link(a, b): "drop"}})
        elif kind == "lossy-links":
            failpoints.every_link("%d%%drop" % rng.randint(5, 40))
        elif kind == "slow-links":
            failpoints.every_link("sleep(%d)" % rng.randint(5, 120))
        elif kind == "slow-disk":
            member = leader_or_any() if rng.random() < 0.5 else rng.choice(members)
            failpoints.apply({member: {"raftBeforeSave": "sleep(%d)" % rng.randint(20, 300)}})
        else:
            raise ValueError("unknown fault %r" % kind)
        hold()
    finally:
        failpoints.heal()
    return kind


def crash_at_point(rng, failpoints, stop, member):
    """Makes `member` crash at a point chosen at random, the next time it gets there; restarts it
    once it has, or takes the failpoint back when it never got there. A snapshot's points come
    only when the member is behind: it is killed first, and started again with the failpoint on
    (the leader's snapshot reaches it only if the members snapshot often: --snapshot-count)."""
    point = rng.choice(CRASH_POINTS)
    if point in SNAPSHOT_POINTS:
        member.kill()
        stop.wait(rng.uniform(0.5, 2.0))
        failpoints.apply({member: {point: "1*panic"}})
        member.launch()
        waited = 100  # up to 10 s for the snapshot to come
    else:
        failpoints.apply({member: {point: "1*panic"}})
        waited = 30  # up to 3 s for the member to get there
    for _ in range(waited):
        if not member.alive() or stop.wait(0.1):
            break
    failpoints.heal()  # before a restart: the member reads its file at start
    if member.alive():
        member.wait_ready(60)
        return None
    member.proc.wait()
    with open(member.log_path, "a") as f:
        f.write("\n--- crashed at failpoint %s ---\n" % point)
    stop.wait(rng.uniform(0.1, 1.0))
    member.start(timeout=60)
    return "crash-point " + point
