"""Retention (issue 20) through the three real binaries, with retentions of two seconds: the
gateway's views of final transfers (--transfer-retention-ms, gateway_view_prune.h) and the
accounts node's saga state of finished transfers (--saga-retention-ms, accounts_prune.h) go;
pending transfers and their holds stay and still finish; money and the ledger never change.
"""
import unittest

from mesh import MeshTest, sample, wait_until

RETENTION_MS = 2000
ENV = {
    "gateway": {"LEDGER_TRANSFER_RETENTION_MS": str(RETENTION_MS),
                "LEDGER_IDEMPOTENCY_RETENTION_MS": "1000"},
    "accounts": {"LEDGER_SAGA_RETENTION_MS": str(RETENTION_MS)},
}


class RetentionTest(MeshTest):
    mesh_options = {"env": ENV}

    def pruned(self, node, what):
        return sample(self.mesh.metrics(node), "ledger_retention_pruned_total", what=what)

    def gone(self, tid):
        status, payload = self.mesh.get(f"/api/transfers/{tid}")
        if status == 200:
            return False
        self.assertEqual((status, payload["error"]["code"]), (404, "not_found"), payload)
        return True

    def assert_verified(self):
        status, report, _ = self.mesh.admin("accounts", "GET", "/ledger/verify")
        self.assertEqual(status, 200, report)
        self.assertTrue(report["ok"], report)

    def test_final_views_and_saga_state_go_and_money_and_ledger_stay(self):
        status, t = self.mesh.transfer("alice", "bob", 700)
        self.assertEqual(status, 202, t)
        self.assertEqual(self.mesh.wait_final(t["id"])["status"], "settled")
        before = self.mesh.accounts()
        entries = self.mesh.admin("accounts", "GET", "/ledger/verify")[1]["entries"]

        wait_until(lambda: self.gone(t["id"]), 20, "the settled view to be pruned")
        self.assertNotIn(t["id"], [x["id"] for x in self.mesh.all_transfers(with_funding=True)])
        alice_key = self.mesh.owner_key("alice")
        status, page = self.mesh.get("/api/transfers?limit=200", key=alice_key)
        self.assertEqual(status, 200, page)
        self.assertNotIn(t["id"], [x["id"] for x in page["transfers"]])
        wait_until(lambda: self.pruned("gateway", "views") >= 1, 10, "views counted")
        wait_until(lambda: self.pruned("accounts", "saga") >= 1, 20, "saga state pruned")

        self.assertEqual(self.mesh.accounts(), before)
        report = self.mesh.admin("accounts", "GET", "/ledger/verify")[1]
        self.assertEqual(report["entries"], entries)
        self.assert_verified()

    def test_a_pending_transfer_outlives_the_retention_and_still_settles(self):
        before = self.mesh.accounts()
        self.mesh.kill("fraud")  # no verdict: the transfer stays pending, its hold open
        status, pending = self.mesh.transfer("alice", "bob", 300)
        self.assertEqual(status, 202, pending)
        wait_until(lambda: self.mesh.accounts()["alice"]["held"] == 300, 20, "the hold")
        # A decline needs no verdict: final at once, and created after the pending one, so a
        # walk that pruned it went past the pending transfer at both nodes.
        saga_before = self.pruned("accounts", "saga")
        status, declined = self.mesh.transfer("alice", "bob", 10 ** 12)
        self.assertEqual(status, 202, declined)
        self.assertEqual(self.mesh.wait_final(declined["id"])["status"], "declined")
        wait_until(lambda: self.gone(declined["id"]), 20, "the declined view to be pruned")
        wait_until(lambda: self.pruned("accounts", "saga") > saga_before, 20,
                   "the declined saga state to be pruned")

        self.assertEqual(self.mesh.transfer_status(pending["id"])["status"], "pending")
        self.assertEqual(self.mesh.accounts()["alice"]["held"], 300)
        self.mesh.start("fraud")
        final = self.mesh.wait_final(pending["id"], 30)
        self.assertEqual(final["status"], "settled", final)
        after = self.mesh.accounts()
        self.assertEqual(after["alice"]["balance"], before["alice"]["balance"] - 300)
        self.assertEqual(after["bob"]["balance"], before["bob"]["balance"] + 300)
        self.assertEqual(after["alice"]["held"], 0)
        self.assert_verified()


if __name__ == "__main__":
    unittest.main()
