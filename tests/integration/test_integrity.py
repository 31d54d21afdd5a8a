"""Issue 20, "corruption fails closed": a stored record that does not decode
faults its node (nodes/common/node.h, "Storage faults"): /health 503 with the
reason, ledger_storage_faulted 1, one event=storage_fault line, no message acked
or nacked (the sender keeps it: nothing dead-lettered), no money moved, reads
still served; a corrupt inbound message is still nacked for good. The records
are flipped with the node stopped (python3-lmdb), then the node is started."""
import os
import struct
import subprocess

import lmdb

from mesh import MeshTest, sample, wait_until

LMDB_MAX_DBS = 64  # more than the store opens (store.c)


def edit_record(data_dir, db_name, key, edit):
    """Replaces the value under `key` in named database `db_name` of the stopped node's
    environment with edit(old bytes); returns the old bytes."""
    env = lmdb.open(data_dir, max_dbs=LMDB_MAX_DBS, map_size=1 << 30)
    try:
        db = env.open_db(db_name.encode(), create=False)
        key = key.encode() if isinstance(key, str) else key
        with env.begin(write=True) as txn:
            old = txn.get(key, db=db)
            assert old is not None, f"no {db_name} record {key}"
            txn.put(key, edit(old), db=db)
        return old
    finally:
        env.close()


def flip_first_byte(value):
    return bytes([value[0] ^ 0xFF]) + value[1:]


def flip_last_byte(value):
    return value[:-1] + bytes([value[-1] ^ 0x01])


class FaultHelpers:
    def data_dir(self, node):
        return os.path.join(self.mesh.tmp, "data", node)

    def restart_with(self, node, db_name, key, edit):
        """Stops `node` cleanly, edits one of its records, starts it again; the old bytes."""
        self.assertEqual(self.mesh.stop(node), 0)
        old = edit_record(self.data_dir(node), db_name, key, edit)
        self.mesh.start(node)
        wait_until(lambda: self.mesh.answers(node), what=f"{node} to start")
        return old

    def wait_faulted(self, node):
        wait_until(lambda: self.mesh.admin(node, "GET", "/health")[0] == 503,
                   what=f"{node} /health to report the storage fault")
        status, body, _ = self.mesh.admin(node, "GET", "/health")
        self.assertEqual((status, body["status"]), (503, "faulted"))
        self.assertIn("storage_faulted", body["reasons"])
        self.assertEqual(sample(self.mesh.metrics(node), "ledger_storage_faulted"), 1)
        return body["fault"]

    def assert_kept_by(self, sender, redeliveries=3):
        """The sender's outbox keeps its message, resent to the faulted peer, never
        dead-lettered (judged after a few more resends, not after a fixed time)."""
        start = sample(self.mesh.metrics(sender), "ledger_redeliveries_total")
        wait_until(lambda: sample(self.mesh.metrics(sender), "ledger_redeliveries_total")
                   >= start + redeliveries, what=f"{sender} to resend its message")
        self.assertGreaterEqual(self.mesh.admin(sender, "GET", "/outbox")[1]["depth"], 1)
        self.assertEqual(self.mesh.admin(sender, "GET", "/dead-letters")[1]["dead_letters"], [])


class CorruptRecordTest(FaultHelpers, MeshTest):

    def test_a_corrupt_account_record_faults_accounts_and_no_message_is_dead_lettered(self):
        # erin, not a demo account: the demo's start hook reads those (a corrupt one there
        # faults the node at start, source "start"); erin's is first read by the transfer.
        self.assertEqual(self.mesh.open_account("erin")[0], 201)
        self.mesh.fund("erin", 1000)
        before = self.mesh.accounts()
        old = self.restart_with("accounts", "accounts", "erin", flip_first_byte)
        self.assertEqual(self.mesh.admin("accounts", "GET", "/health")[0], 200)
        status, t = self.mesh.transfer("erin", "bob", 100)
        self.assertEqual(status, 202, t)
        fault = self.wait_faulted("accounts")
        self.assertEqual(fault["source"], "batch")
        self.assertIn("transfer.requested", fault["reason"])
        self.assertIn(t["id"], fault["reason"])
        self.assert_kept_by("gateway")
        self.assertEqual(self.mesh.transfer_status(t["id"])["status"], "pending")
        # Reads go on: bob's record decodes, and no money moved; the verify walk answers.
        status, bob = self.mesh.get("/api/accounts/bob", key=self.mesh.owner_key("bob"))
        self.assertEqual(status, 200, bob)
        self.assertEqual((bob["balance"], bob["held"]),
                         (before["bob"]["balance"], before["bob"]["held"]))
        status, verify, _ = self.mesh.admin("accounts", "GET", "/ledger/verify")
        self.assertEqual(status, 200)
        self.assertFalse(verify["ok"])
        self.assertEqual(self.mesh.log("accounts").count("event=storage_fault"), 1)
        # Writes at its admin port are refused too.
        self.assertEqual(self.mesh.admin("accounts", "POST", "/dead-letters/1/replay")[0], 503)

        # A corrupt inbound message is still the message's fault: nacked, dead-lettered at
        # its sender, while the good one stays in the sender's outbox.
        tool = os.path.join(self.mesh.build_dir, "tests", "integration", "outbox_put")
        subprocess.run([tool, self.data_dir("gateway"), "accounts", "-"],
                       input=b"\x93\x01\x02 poison", check=True)
        wait_until(lambda: self.mesh.admin("gateway", "GET", "/dead-letters")[1]["dead_letters"],
                   what="the poison message to be nacked by the faulted node")
        dead = self.mesh.admin("gateway", "GET", "/dead-letters")[1]["dead_letters"]
        self.assertEqual([d["code"] for d in dead], ["decode_error"])
        self.assertGreaterEqual(self.mesh.admin("gateway", "GET", "/outbox")[1]["depth"], 1)

        # The operator restores the record and restarts: the kept message is applied.
        self.assertEqual(self.mesh.stop("accounts"), 0)
        self.assertIn("event=stop_hook_skipped reason=storage_fault", self.mesh.log("accounts"))
        edit_record(self.data_dir("accounts"), "accounts", "erin", lambda _: old)
        self.mesh.start("accounts")
        self.assertEqual(self.mesh.wait_final(t["id"], timeout=30)["status"], "settled")
        self.assertEqual(self.mesh.admin("accounts", "GET", "/health")[0], 200)
        self.assertEqual(sample(self.mesh.metrics("accounts"), "ledger_storage_faulted"), 0)
        self.assertTrue(self.mesh.admin("accounts", "GET", "/ledger/verify")[1]["ok"])

    def test_a_corrupt_transfer_view_faults_the_gateway_which_refuses_writes_and_serves_reads(self):
        self.mesh.stop("fraud")
        status, t = self.mesh.transfer("alice", "bob", 100)
        self.assertEqual(status, 202, t)
        wait_until(lambda: self.mesh.admin("accounts", "GET", "/outbox")[1]["depth"] >= 1,
                   what="accounts to hold the transfer for fraud")
        self.restart_with("gateway", "transfers", t["id"], flip_first_byte)
        self.mesh.start("fraud")  # fraud approves, accounts settles, the gateway meets the view
        fault = self.wait_faulted("gateway")
        self.assertIn(t["id"], fault["reason"])  # fraud.approved or transfer.settled, first in
        self.assert_kept_by("fraud")  # fraud.approved for the gateway
        self.assert_kept_by("accounts")  # transfer.settled for the gateway
        # New writes: 503 storage_unavailable with Retry-After; nothing was created.
        status, body, headers = self.mesh.request(
            "POST", "/api/transfers", {"from": "alice", "to": "bob", "amount": 5},
            headers={"Idempotency-Key": "while-faulted",
                     "Authorization": f"Bearer {self.mesh.owner_key('alice')}"})
        self.assertEqual((status, body["error"]["code"]), (503, "storage_unavailable"), body)
        self.assertIn("Retry-After", headers)
        # Reads: the accounts (through the healthy accounts node) and the gateway's own views.
        status, alice = self.mesh.get("/api/accounts/alice", key=self.mesh.owner_key("alice"))
        self.assertEqual(status, 200, alice)
        other = sorted(self.mesh.funding_ids)[0]  # a view that decodes (the corrupt one: 500)
        status, view = self.mesh.get(f"/api/transfers/{other}")
        self.assertEqual((status, view["status"]), (200, "settled"), view)
        self.assertEqual(self.mesh.log("gateway").count("event=storage_fault"), 1)


class CorruptViewMetByRetentionTest(FaultHelpers, MeshTest):
    """The gateway's retention actor (gateway_prune.h) meets a final view that does not decode:
    it faults the node (source prune) instead of logging and stopping every kind of retention
    for good (gateway_prune_test.c checks that the kinds before it still ran)."""

    def test_a_corrupt_final_view_met_by_the_retention_faults_the_gateway(self):
        status, t = self.mesh.transfer("alice", "bob", 100)
        self.assertEqual(status, 202, t)
        self.assertEqual(self.mesh.wait_final(t["id"])["status"], "settled")
        # Restarted with retentions of one second: the actor's walk reaches the settled view.
        self.mesh.extra_env["gateway"] = {"LEDGER_IDEMPOTENCY_RETENTION_MS": "1000",
                                          "LEDGER_TRANSFER_RETENTION_MS": "1000"}
        self.restart_with("gateway", "transfers", t["id"], flip_first_byte)
        fault = self.wait_faulted("gateway")
        self.assertEqual(fault["source"], "prune")
        self.assertIn("transfer views", fault["reason"])
        self.assertEqual(self.mesh.log("gateway").count("event=storage_fault"), 1)
        status, body, _ = self.mesh.request(
            "POST", "/api/transfers", {"from": "alice", "to": "bob", "amount": 5},
            headers={"Idempotency-Key": "while-faulted",
                     "Authorization": f"Bearer {self.mesh.owner_key('alice')}"})
        self.assertEqual((status, body["error"]["code"]), (503, "storage_unavailable"), body)


class ScheduledVerifyTest(FaultHelpers, MeshTest):
    """The accounts node's scheduled /ledger/verify (accounts_verify_sched.h), every 200 ms in
    chunks of 3 entries: its last run on /metrics, and a broken chain faults the node."""
    mesh_options = {"env": {"accounts": {"LEDGER_VERIFY_EVERY_MS": "200",
                                         "LEDGER_VERIFY_CHUNK": "3"}}}

    def verify_figures(self):
        m = self.mesh.metrics("accounts")
        return {name: sample(m, "ledger_verify_" + name)
                for name in ("runs_total", "failures_total", "last_ok", "last_entries",
                             "last_chunks", "last_run_timestamp_seconds")}

    def test_the_scheduled_verify_walks_in_chunks_and_a_broken_chain_faults_the_node(self):
        status, t = self.mesh.transfer("alice", "bob", 100)
        self.assertEqual(self.mesh.wait_final(t["id"])["status"], "settled")
        entries = self.mesh.admin("accounts", "GET", "/ledger/verify")[1]["entries"]
        runs = self.verify_figures()["runs_total"]
        wait_until(lambda: self.verify_figures()["runs_total"] >= runs + 2,
                   what="two more scheduled verifies")
        v = self.verify_figures()
        self.assertEqual((v["last_ok"], v["failures_total"]), (1, 0))
        self.assertGreaterEqual(v["last_entries"], entries)
        self.assertGreaterEqual(v["last_chunks"], v["last_entries"] // 3)
        self.assertGreater(v["last_run_timestamp_seconds"], 0)
        self.assertEqual(self.mesh.admin("accounts", "GET", "/health")[0], 200)

        # Entry 2's last byte flipped, with the node stopped: its start reads no entry (a clean
        # stop left nothing to replay), the next scheduled verify finds the chain broken.
        self.restart_with("accounts", "ledger", struct.pack(">Q", 2), flip_last_byte)
        fault = self.wait_faulted("accounts")
        self.assertEqual(fault["source"], "verify")
        self.assertIn("entry", fault["reason"])
        v = self.verify_figures()
        self.assertEqual((v["last_ok"], v["failures_total"]), (0, 1))
        self.assertIn("event=verify_failed first_bad_seq=2", self.mesh.log("accounts"))
        status, t2 = self.mesh.transfer("alice", "bob", 100)
        self.assertEqual(status, 202, t2)
        self.assert_kept_by("gateway")
        self.assertEqual(self.mesh.transfer_status(t2["id"])["status"], "pending")
