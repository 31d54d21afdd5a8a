"""Money comes in and goes out only through the settlement account: POST
/api/deposits (operators, deposits:write) and POST /api/withdrawals (the
account's owner) through the three real binaries (nodes/gateway/gateway_money_api.h).

Every refusal is checked for what did NOT happen as well: no transfer, no
balance moved, the Idempotency-Key still free.
"""
import unittest

from mesh import SETTLEMENT, MeshTest

FUNDING = SETTLEMENT["GBP"]


class MoneyCase(MeshTest):
    def state(self):
        """What a refused request must leave alone."""
        return (sorted(t["id"] for t in self.mesh.all_transfers()),
                {a["id"]: a["balance"] for a in self.mesh.accounts().values()})

    def assert_verified(self):
        status, report, _ = self.mesh.admin("accounts", "GET", "/ledger/verify")
        self.assertEqual(status, 200, report)
        self.assertTrue(report["ok"], report)


class MoneyTest(MoneyCase):
    def test_a_deposit_credits_the_account_from_the_settlement_account(self):
        before = self.mesh.accounts()
        final = self.mesh.fund("alice", 5000)
        self.assertEqual((final["from"], final["to"], final["kind"]), (FUNDING, "alice", "deposit"))
        after = self.mesh.accounts()
        self.assertEqual(after["alice"]["balance"], before["alice"]["balance"] + 5000)
        self.assertEqual(after[FUNDING]["balance"], before[FUNDING]["balance"] - 5000)
        self.assertEqual(sum(a["balance"] for a in after.values()), 0)
        self.assert_verified()

    def test_a_withdrawal_moves_money_back_and_past_the_balance_is_declined(self):
        before = self.mesh.accounts()
        available = before["dave"]["available"]
        status, t = self.mesh.withdraw("dave", available + 1)
        self.assertEqual(status, 202, t)
        self.assertEqual(t["kind"], "withdrawal")
        final = self.mesh.wait_final(t["id"])
        self.assertEqual(final["status"], "declined", final)
        self.assertEqual(final["reason"]["code"], "insufficient_funds")
        self.assertEqual(self.mesh.accounts(), before)
        status, t = self.mesh.withdraw("dave", 1000)
        self.assertEqual(status, 202, t)
        self.assertEqual(self.mesh.wait_final(t["id"])["status"], "settled")
        after = self.mesh.accounts()
        self.assertEqual(after["dave"]["balance"], before["dave"]["balance"] - 1000)
        self.assertEqual(after[FUNDING]["balance"], before[FUNDING]["balance"] + 1000)
        self.assert_verified()

    def test_a_deposit_needs_deposits_write_and_creates_nothing_without_it(self):
        before = self.state()
        status, p = self.mesh.deposit("alice", 5000, key="dep-scope",
                                      api_key=self.mesh.owner_key("alice"))
        self.assertEqual((status, p["error"]["code"]), (403, "forbidden"), p)
        self.assertIn("deposits:write", p["error"]["message"])
        self.assertEqual(self.state(), before)

    def test_a_withdrawal_from_another_principals_account_is_403_and_creates_nothing(self):
        before = self.state()
        alice = self.mesh.owner_key("alice")
        status, p = self.mesh.withdraw("bob", 100, key="wd-other", api_key=alice)
        self.assertEqual((status, p["error"]["code"], p["error"]["field"]),
                         (403, "forbidden_account", "account"), p)
        # The settlement account is nobody's either.
        status, p = self.mesh.withdraw(FUNDING, 100, key="wd-funding", api_key=alice)
        self.assertIn(status, (403, 422), p)
        self.assertEqual(self.state(), before)
        # The key stayed free: alice uses it for her own withdrawal.
        status, t = self.mesh.withdraw("alice", 100, key="wd-other", api_key=alice)
        self.assertEqual(status, 202, t)
        self.assertEqual(t["from"], "alice")
        self.assertEqual(self.mesh.wait_final(t["id"])["status"], "settled")

    def test_an_opening_balance_is_refused_and_creates_nothing(self):
        self.mesh.owner_key("erin")
        before = self.state()
        for amount in (9 * 10**18, 5000, 0):
            status, p, _ = self.mesh.request("POST", "/api/accounts", {
                "id": "erin", "name": "Erin", "currency": "GBP", "owner": "erin",
                "opening_balance": amount})
            self.assertEqual((status, p["error"]["code"], p["error"]["field"]),
                             (400, "opening_balance_removed", "opening_balance"), p)
        self.assertEqual(self.state(), before)  # no account, no money
        status, p = self.mesh.open_account("erin", "Erin")
        self.assertEqual((status, self.mesh.accounts()["erin"]["balance"]), (201, 0), p)
        self.assert_verified()

    def test_the_transfer_list_shows_each_kind(self):
        ids = {"deposit": self.mesh.fund("bob", 700)["id"]}
        status, t = self.mesh.withdraw("bob", 300)
        self.assertEqual(status, 202, t)
        ids["withdrawal"] = t["id"]
        status, t = self.mesh.transfer("bob", "alice", 200)
        self.assertEqual(status, 202, t)
        ids["transfer"] = t["id"]
        for kind, tid in ids.items():
            self.assertEqual(self.mesh.wait_final(tid)["kind"], kind)
        listed = {t["id"]: t["kind"] for t in self.mesh.all_transfers()}
        for kind, tid in ids.items():
            self.assertEqual(listed[tid], kind)
        # The owner sees the deposit and the withdrawal in its own list too.
        status, page = self.mesh.get("/api/transfers?limit=200", key=self.mesh.owner_key("bob"))
        self.assertEqual(status, 200, page)
        self.assertTrue(set(ids.values()) <= {t["id"] for t in page["transfers"]}, page)


class SettlementLimitTest(MoneyCase):
    # One deposit: at most 5,000.00 at the gateway, 1,000.00 at the accounts node (which
    # decides again); the settlement account: at most 20,000.00 below zero. No demo accounts
    # (their funding would not fit): alice and carol open at zero.
    mesh_options = {"demo": False,
                    "env": {"accounts": {"LEDGER_SETTLEMENT_LIMIT_MINOR": "2000000",
                                         "LEDGER_DEPOSIT_MAX_MINOR": "100000"},
                            "gateway": {"LEDGER_DEPOSIT_MAX_MINOR": "500000"}}}

    def setUp(self):
        super().setUp()
        for account in ("alice", "carol"):
            status, p = self.mesh.open_account(account)
            self.assertEqual(status, 201, p)

    def test_a_deposit_past_the_settlement_limit_is_declined(self):
        before = self.mesh.accounts()
        headroom = 2000000 + before[FUNDING]["balance"]
        self.assertGreater(headroom, 0, before[FUNDING])
        # Up to the limit in deposits the accounts node takes (at most 1,000.00 each).
        while headroom > 0:
            self.mesh.fund("carol", min(headroom, 100000))
            headroom -= min(headroom, 100000)
        self.assertEqual(self.mesh.accounts()[FUNDING]["balance"], -2000000)
        held = self.state()
        status, t = self.mesh.deposit("carol", 1)
        self.assertEqual(status, 202, t)
        final = self.mesh.wait_final(t["id"])
        self.assertEqual((final["status"], final["reason"]["code"]), ("declined", "settlement_limit"))
        # A withdrawal makes room again.
        status, w = self.mesh.withdraw("carol", 50)
        self.assertEqual(self.mesh.wait_final(w["id"])["status"], "settled")
        self.assertEqual(self.mesh.fund("carol", 50)["status"], "settled")
        self.assertEqual(self.state()[1], held[1])

    def test_a_deposit_over_the_maximum_is_refused_at_the_gateway_or_declined(self):
        before = self.state()
        status, p = self.mesh.deposit("alice", 500001)
        self.assertEqual((status, p["error"]["code"], p["error"]["field"]),
                         (422, "amount_too_large", "amount"), p)
        self.assertEqual(self.state(), before)
        status, t = self.mesh.deposit("alice", 100001)  # the gateway takes it, the node does not
        self.assertEqual(status, 202, t)
        final = self.mesh.wait_final(t["id"])
        self.assertEqual((final["status"], final["reason"]["code"]), ("declined", "deposit_too_large"))
        self.assertEqual(self.state()[1], before[1])


if __name__ == "__main__":
    unittest.main()
