"""A node whose storage fills up, through the three real binaries on loopback.

The gateway runs with a tiny map (--map-max-bytes) or on a tiny tmpfs of its
own, and transfers are sent until its writes fail for room. Then: new
writes get 503 storage_unavailable with Retry-After (never a 500 or a
hang), reads still answer, /health and /metrics say why, nothing is half
applied (the gateway's view holds exactly the transfers it accepted, money
is conserved: invariants.py), and once room is back (a restart with a larger
map; the tmpfs grown while the gateway runs) transfers go through again by
themselves.
"""
import os
import subprocess
import time
import unittest

from invariants import check_invariants
from mesh import MeshTest, sample, wait_until

TINY_MAP = 1 << 20  # 1 MiB, the least --map-max-bytes
TMPFS_SIZE = "1m"   # the gateway's tmpfs, then grown to TMPFS_GROWN
TMPFS_GROWN = "64m"
BATCH = 25          # transfers per batch request while filling
FILL_REQUESTS = 400  # at most this many batch requests before the store must be full
SOURCES = ("alice", "carol", "mallory")


def key(tag):
    return f"cap-{tag}-{time.monotonic_ns()}-{os.getpid()}"


class StorageFull:
    """What the capacity tests share: fill the gateway, check it while full, check after."""

    def fill_until_refused(self):
        """Batch requests until one is refused 503 storage_unavailable; the ids of the
        transfers the gateway accepted (202 items of the 200 answers) and the refusal."""
        accepted = []
        for i in range(FILL_REQUESTS):
            src = SOURCES[i % len(SOURCES)]
            items = [{"idempotency_key": key(f"{i}-{j}"), "from": src, "to": "bob", "amount": 1}
                     for j in range(BATCH)]
            status, answer, headers = self.mesh.request(
                "POST", "/api/transfers/batch", {"transfers": items}, timeout=30,
                key=self.mesh.owner_key(src))
            if status == 503:
                return accepted, answer, headers
            self.assertEqual(status, 200, answer)
            accepted += [r["transfer"]["id"] for r in answer["results"] if r["status"] == 202]
        self.fail(f"the gateway took {FILL_REQUESTS} batches without filling up")

    def check_refused(self, answer, headers):
        self.assertEqual(answer["error"]["code"], "storage_unavailable", answer)
        self.assertEqual(headers.get("Retry-After"), "1", headers)

    def refuse_single(self, accepted):
        """Single transfers until one is refused: a store that has no room for a batch may
        still take a small write, or an ack that frees pages. The accepted ones count."""
        def refused():
            status, answer = self.mesh.transfer("alice", "bob", 1)
            if status == 202:
                accepted.append(answer["id"])
                return None
            self.assertEqual(status, 503, answer)  # never a 500
            self.assertEqual(answer["error"]["code"], "storage_unavailable", answer)
            return True
        wait_until(refused, 60, "a single transfer to be refused", interval=0)

    def check_while_full(self, accepted, room):
        self.refuse_single(accepted)
        # Reads go on: a transfer, the list, balances (the accounts node), the admin port.
        self.assertEqual(self.mesh.transfer_status(accepted[0])["id"], accepted[0])
        self.assertGreaterEqual(len(self.mesh.all_transfers()), len(accepted))
        self.assertIn("alice", self.mesh.accounts())
        # /health says why: 503 while the last write failed for room. A small commit in
        # between (an ack that frees an outbox entry) clears that until the next write
        # fails, so each look follows a write attempt of its own.
        def full_health():
            self.refuse_single(accepted)
            status, health, _ = self.mesh.admin("gateway", "GET", "/health")
            if status == 200:
                self.assertIn(health["status"], ("ok", "degraded"), health)
                return None
            self.assertEqual(health["status"], "unavailable", health)
            return health if room in health["reasons"] else None
        health = wait_until(full_health, 60, f"gateway /health to report {room}")
        self.assertEqual(health["storage"]["room"], room)
        samples = self.mesh.metrics("gateway")
        self.assertGreaterEqual(sample(samples, "ledger_storage_refused_total"), 2)
        self.assertGreaterEqual(sample(samples, "ledger_store_room_failures_total", reason=room), 1)
        other = "disk_full" if room == "map_full" else "map_full"
        self.assertEqual(sample(samples, "ledger_store_room_failures_total", reason=other), 0)
        # The other nodes have room.
        self.assertEqual(self.mesh.admin("accounts", "GET", "/health")[1]["storage"]["room"], "ok")

    def check_after(self, initial, accepted):
        """Room is back: a new transfer goes through, every accepted one is final, the mesh
        agrees (invariants), /health is 200."""
        new = wait_until(lambda: (lambda r: r[1] if r[0] == 202 else None)(
            self.mesh.transfer("alice", "bob", 1)), 30, "a transfer to be accepted again")
        accepted = accepted + [new["id"]]
        for tid in accepted:
            self.mesh.wait_final(tid, 60)
        check_invariants(self, self.mesh, initial, accepted)
        wait_until(lambda: self.mesh.admin("gateway", "GET", "/health")[0] == 200, 20,
                   "gateway /health to be 200 again")
        samples = self.mesh.metrics("gateway")
        self.assertEqual(sample(samples, "ledger_store_full", reason="map_full"), 0)
        self.assertEqual(sample(samples, "ledger_store_full", reason="disk_full"), 0)


class MapFullTest(StorageFull, MeshTest):
    mesh_options = {"env": {"gateway": {"LEDGER_MAP_MAX_BYTES": str(TINY_MAP),
                                        "LEDGER_PREALLOC_BYTES": "0"}}}

    def test_a_full_map_refuses_writes_keeps_reads_and_recovers_with_a_larger_map(self):
        initial = self.mesh.accounts()
        samples = self.mesh.metrics("gateway")
        self.assertEqual(sample(samples, "ledger_store_map_max_bytes"), TINY_MAP)
        accepted, answer, headers = self.fill_until_refused()
        self.assertGreater(len(accepted), 0)
        self.check_refused(answer, headers)
        self.check_while_full(accepted, "map_full")
        # Room comes back: the operator restarts the gateway with a larger map.
        self.mesh.stop("gateway")
        self.mesh.extra_env["gateway"]["LEDGER_MAP_MAX_BYTES"] = str(64 << 20)
        self.mesh.start("gateway")
        wait_until(lambda: self.mesh.get("/api/health")[0] == 200, 20, "the gateway to restart")
        self.check_after(initial, accepted)


class AccountsFullTest(MeshTest):
    """The accounts node fills up: the gateway still takes transfers (they wait, pending),
    balances still answer (queries are answered from a read transaction when a batch fails
    for room), and a restart with a larger map finishes every transfer."""
    mesh_options = {"env": {"accounts": {"LEDGER_MAP_MAX_BYTES": str(TINY_MAP),
                                         "LEDGER_PREALLOC_BYTES": "0"}}}

    def room_failures(self):
        return sample(self.mesh.metrics("accounts"), "ledger_store_room_failures_total",
                      reason="map_full")

    def test_a_full_accounts_node_keeps_answering_balances_and_recovers(self):
        initial = self.mesh.accounts()
        accepted = []
        for i in range(FILL_REQUESTS):
            if self.room_failures() > 0:
                break
            src = SOURCES[i % len(SOURCES)]
            items = [{"idempotency_key": key(f"a{i}-{j}"), "from": src, "to": "bob", "amount": 1}
                     for j in range(4 * BATCH)]
            status, answer, _ = self.mesh.request(
                "POST", "/api/transfers/batch", {"transfers": items}, timeout=30,
                key=self.mesh.owner_key(src))
            self.assertEqual(status, 200, answer)
            accepted += [r["transfer"]["id"] for r in answer["results"] if r["status"] == 202]
        else:
            self.fail("the accounts node never ran out of map")
        # While its writes fail (redeliveries of the transfers keep coming), reads answer.
        for _ in range(20):
            status, page = self.mesh.get("/api/accounts?limit=200", timeout=5)
            self.assertEqual(status, 200, page)
            status, one = self.mesh.get("/api/accounts/alice", timeout=5)
            self.assertEqual(status, 200, one)
        self.assertGreater(self.room_failures(), 0)
        self.mesh.stop("accounts")
        self.mesh.extra_env["accounts"]["LEDGER_MAP_MAX_BYTES"] = str(64 << 20)
        self.mesh.start("accounts")
        for tid in accepted:
            self.mesh.wait_final(tid, 60)
        check_invariants(self, self.mesh, initial, accepted)


def mount(*args):
    return subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)


class GatewayOnTmpfs(MeshTest):
    """A mesh whose gateway keeps its data on a tmpfs of its own (mounted here: skipped
    where mount is not permitted)."""
    start_mesh = False
    tmpfs_size = TMPFS_SIZE

    def setUp(self):
        self.disk = os.path.join(self.mesh.tmp, "gateway-disk")
        os.makedirs(self.disk)
        r = mount("-t", "tmpfs", "-o", f"size={self.tmpfs_size}", "tmpfs", self.disk)
        if r.returncode != 0:
            self.skipTest(f"cannot mount a tmpfs here ({r.stderr.strip()}): MapFullTest covers "
                          "the map half")
        # Lazily: the gateway may still hold it open until the mesh stops, after cleanups.
        self.addCleanup(subprocess.run, ["umount", "-l", self.disk], capture_output=True)
        self.mesh.extra_env["gateway"] = {"LEDGER_DATA_DIR": os.path.join(self.disk, "gateway"),
                                          "LEDGER_PREALLOC_BYTES": "0"}
        self.mesh.start_all()


class DiskThresholdTest(GatewayOnTmpfs):
    """/health follows the disk: degraded (200) from 80% used, 503 from 95%, ok again below."""
    tmpfs_size = "8m"

    def health_with(self, status, reason):
        def check():
            code, health, _ = self.mesh.admin("gateway", "GET", "/health")
            return health if code == status and (reason in health["reasons"] if reason
                                                 else health["reasons"] == []) else None
        return wait_until(check, 10, f"gateway /health {status} {reason}")

    def fill_to(self, filler, fraction):
        vfs = os.statvfs(self.disk)
        used = (vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize
        size = os.path.getsize(filler) if os.path.exists(filler) else 0
        want = int(vfs.f_blocks * vfs.f_frsize * fraction) - (used - size)
        with open(filler, "wb") as f:
            f.write(b"\0" * want)

    def test_health_is_degraded_at_80_percent_of_the_disk_and_503_at_95(self):
        filler = os.path.join(self.disk, "filler")
        self.health_with(200, None)
        self.fill_to(filler, 0.85)
        health = self.health_with(200, "disk_usage_high")
        self.assertEqual(health["status"], "degraded", health)
        self.assertGreaterEqual(health["storage"]["disk_used_pct"], 80)
        self.fill_to(filler, 0.97)
        health = self.health_with(503, "disk_usage_critical")
        self.assertEqual(health["status"], "unavailable", health)
        os.remove(filler)
        self.assertEqual(self.health_with(200, None)["status"], "ok")
        samples = self.mesh.metrics("gateway")
        self.assertEqual(sample(samples, "ledger_disk_total_bytes"), 8 << 20)


class DiskFullTest(StorageFull, GatewayOnTmpfs):
    """ENOSPC: the gateway's data dir is a tmpfs of its own, grown while the gateway runs."""

    def test_a_full_disk_refuses_writes_keeps_reads_and_recovers_when_it_grows(self):
        initial = self.mesh.accounts()
        accepted, answer, headers = self.fill_until_refused()
        self.assertGreater(len(accepted), 0)
        self.check_refused(answer, headers)
        self.check_while_full(accepted, "disk_full")
        # Room comes back while the gateway runs: no restart.
        pid = self.mesh.procs["gateway"].pid
        r = mount("-o", f"remount,size={TMPFS_GROWN}", self.disk)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.check_after(initial, accepted)
        self.assertEqual(self.mesh.procs["gateway"].pid, pid)
        self.assertTrue(self.mesh.running("gateway"))


if __name__ == "__main__":
    unittest.main()
