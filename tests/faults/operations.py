"""The faults an operator makes, for run_faults.py: a member removed and replaced by a new one (a
learner with an empty data dir, caught up and promoted, as etcd's runbook replaces a member),
compaction, and defragment, all during the load, through etcdctl as an operator types them.

Each returns what to count it as in the report, or None when it could not be done (the cluster
refused it, for example while a member is still reconnecting): the harness goes on then.
"""
import os
import re
import shutil
import subprocess
import time

KINDS = ("replace-member", "compact", "defrag")

# Answers after which a membership change is tried again: etcd's own (the strict reconfiguration
# check wants every member connected for 5 s; a leader may be moving) and a timeout.
_RETRY = ("unhealthy cluster", "no leader", "leader changed", "timed out", "deadline exceeded",
          "context deadline", "in sync with leader", "Unavailable", "too many requests")


def _retry(what, attempt, stop_after=60):
    """Runs attempt() until it returns something other than None, for at most `stop_after`
    seconds; returns that, or None."""
    deadline = time.monotonic() + stop_after
    while time.monotonic() < deadline:
        done = attempt()
        if done is not None:
            return done
        time.sleep(0.5)
    return None


def _member_command(via, *args):
    """etcdctl member <args> on `via`: (True, out), (False, None) to retry, or an error raised
    for an answer that says the harness is wrong."""
    code, out, err = via.etcdctl("member", *args, check=False, timeout=90)
    if code == 0:
        return True, out
    if any(r in err for r in _RETRY):
        return False, None
    raise RuntimeError("etcdctl member %s on %s: %s" % (" ".join(args), via.name, err.strip()))


def replace_member(rng, cluster, failpoints):
    """Removes a member picked at random (the leader too), wipes its data dir, adds it back as a
    learner under the same name and peer URL, starts it (--initial-cluster-state existing),
    promotes it once it is in sync, and tells `failpoints` its new id."""
    gone = rng.choice(cluster.members)
    others = [m for m in cluster.members if m is not gone]
    status = cluster.status(gone)
    if status is None:
        return None
    gone_id = int(status["header"]["member_id"])

    def remove():
        via = rng.choice(others)
        try:
            ok, _ = _member_command(via, "remove", "%x" % gone_id)
        except RuntimeError as e:
            if "member not found" in str(e):
                return True  # an earlier try that timed out was applied after all
            raise
        return True if ok else None
    if _retry("remove", remove) is None:
        return None
    # A removed member stops by itself once it learns it (etcd's "permanently removed"); one that
    # never hears of it is stopped here.
    try:
        gone.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    gone.kill()  # kills it if it is still there, and marks the log
    shutil.rmtree(os.path.join(gone.data_dir, "member-data"), ignore_errors=True)

    def add():
        ok, out = _member_command(rng.choice(others), "add", gone.name, "--peer-urls", gone.peer_url, "--learner")
        return out if ok else None
    out = _retry("add", add, stop_after=120)
    if out is None:
        raise RuntimeError("member %s was removed and could not be added back" % gone.name)
    new_id = int(out.split()[1], 16)
    gone.initial_cluster = re.search(r'ETCD_INITIAL_CLUSTER="([^"]*)"', out).group(1)
    state = gone.extra_args.index("--initial-cluster-state")
    gone.extra_args[state + 1] = "existing"
    gone.start(timeout=60)

    def promote():
        ok, _ = _member_command(rng.choice(others), "promote", "%x" % new_id)
        return True if ok else None
    if _retry("promote", promote, stop_after=120) is None:
        raise RuntimeError("member %s (%x) was added back and never promoted" % (gone.name, new_id))
    failpoints.learn_ids()
    return "replace-member"


def compact(rng, cluster):
    """Compacts at a revision a little behind the current one (physically or not), through a
    member picked at random."""
    member = rng.choice(cluster.members)
    status = cluster.status(member)
    if status is None:
        return None
    revision = int(status["header"]["revision"]) - rng.randint(0, 200)
    if revision < 2:
        return None
    args = ["compact", str(revision)] + (["--physical"] if rng.random() < 0.5 else [])
    code, _, err = member.etcdctl(*args, check=False, timeout=90)
    if code == 0 or "required revision has been compacted" in err:
        return "compact"
    if any(r in err for r in _RETRY):
        return None
    raise RuntimeError("etcdctl %s on %s: %s" % (" ".join(args), member.name, err.strip()))


def defrag(rng, cluster):
    """Defragments a member picked at random (it serves nothing meanwhile, as etcd's)."""
    member = rng.choice(cluster.members)
    code, _, err = member.etcdctl("defrag", check=False, timeout=120)
    if code == 0:
        return "defrag"
    if any(r in err for r in _RETRY):
        return None
    raise RuntimeError("etcdctl defrag on %s: %s" % (member.name, err.strip()))


def inject(kind, rng, cluster, failpoints):
    if kind == "replace-member":
        return replace_member(rng, cluster, failpoints)
    if kind == "compact":
        return compact(rng, cluster)
    if kind == "defrag":
        return defrag(rng, cluster)
    raise ValueError("unknown fault %r" % kind)
