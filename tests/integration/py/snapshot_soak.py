"""The body of scripts/snapshot-soak: a follower stopped while SOAK_MB megabytes are written is
caught up by the leader's store; same revision and HashKV on every member afterwards."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from keel_harness import Cluster  # noqa: E402
from cluster_test import client, hashkv, wait_for  # noqa: E402

MB = int(os.environ.get("SOAK_MB", "300"))
TRANSPORT = os.environ.get("KEEL_TRANSPORT", "grpc")


def revision(cluster, member):
    st = cluster.status(member, timeout=60)
    return st and st["header"]["revision"]


def main():
    cluster = Cluster(3, backends=("lmdb", "leveldb"), transport=TRANSPORT,
                      extra_args=("--snapshot-count", "200", "--experimental-snapshot-catchup-entries", "100",
                                  "--quota-backend-bytes", str(8 << 30))).start()
    try:
        leader = cluster.leader()
        follower = cluster.follower(leader)
        lc = client(leader)
        follower.proc.send_signal(signal.SIGSTOP)
        try:
            for i in range(MB * 16):  # 64 KiB values
                lc.put("soak/%08d" % i, os.urandom(64 << 10))  # incompressible
        finally:
            follower.proc.send_signal(signal.SIGCONT)
        lc.close()
        want = revision(cluster, leader)
        started = time.monotonic()
        wait_for("the follower to reach revision %d" % want,
                 lambda: revision(cluster, follower) == want, timeout=1800, interval=1)
        took = time.monotonic() - started
        hashes = {m.name: hashkv(m, want) for m in cluster.members}
        if len(set(hashes.values())) != 1:
            raise SystemExit("HashKV differs at revision %d: %r" % (want, hashes))
        if "installed the leader's snapshot" not in follower.log():
            raise SystemExit("the follower caught up without a snapshot: raise MB")
        size = cluster.status(follower)["dbSize"]
        print("snapshot-soak %s: %d MB written; the follower caught up in %.1f s (store %d MB), HashKV equal"
              % (TRANSPORT, MB, took, size >> 20))
        for code in cluster.stop():
            if code != 0:
                raise SystemExit("a member exited %r on SIGTERM:\n%s" % (code, cluster.logs()))
    finally:
        cluster.close()


if __name__ == "__main__":
    main()
