"""Issue 21's account routes through the three real binaries: PATCH /api/accounts/{id}
(status, overdraft, the audit entry in the ledger), GET .../balance?at=, GET .../statement
(JSON and CSV, reconcilable), GET /api/accounts/{id}?expand=holds, GET /api/currencies.

Every refusal is checked for what did NOT happen: the account unchanged, no ledger entry.
"""
import csv
import io
import time
import unittest
import urllib.parse

from mesh import MeshTest


def rfc3339(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


class AccountRoutesTest(MeshTest):
    def ledger(self, account):
        status, page = self.mesh.get(f"/api/accounts/{account}/ledger?limit=200")
        self.assertEqual(status, 200, page)
        return page["entries"]

    def test_freeze_and_overdraft_are_audited_and_customers_are_refused(self):
        before = self.ledger("dave")
        status, body, _ = self.mesh.request("PATCH", "/api/accounts/dave", {"status": "closed"},
                                            key=self.mesh.owner_key("dave"))
        self.assertEqual(status, 403, body)
        status, body, _ = self.mesh.request("PATCH", "/api/accounts/dave", {"status": "shut"})
        self.assertEqual((status, body["error"]["code"]), (400, "invalid_field"), body)
        self.assertEqual(self.ledger("dave"), before)  # nothing happened
        status, dave, _ = self.mesh.request("PATCH", "/api/accounts/dave",
                                            {"status": "frozen", "overdraft_limit": 2500})
        self.assertEqual(status, 200, dave)
        self.assertEqual((dave["status"], dave["overdraft_limit"]), ("frozen", 2500))
        audit = [e for e in self.ledger("dave") if e["kind"] in ("status", "overdraft")]
        self.assertEqual(len(audit), 2, audit)
        self.assertTrue(all(e["amount"] == 0 for e in audit), audit)
        # who changed what, on the ledger route too (memo only on audit entries)
        self.assertEqual(sorted(e["memo"].split(": ", 1)[1] for e in audit),
                         ["0 -> 2500", "active -> frozen"], audit)
        self.assertFalse(any("memo" in e for e in self.ledger("dave")
                             if e["kind"] not in ("status", "overdraft")))
        status, again = self.mesh.get("/api/accounts/dave")
        self.assertEqual((again["status"], again["overdraft_limit"]), ("frozen", 2500))
        # a frozen account's debit is declined account_frozen
        status, t = self.mesh.transfer("dave", "bob", 100)
        self.assertEqual(status, 202, t)
        final = self.mesh.wait_final(t["id"])
        self.assertEqual((final["status"], final["reason"]["code"]),
                         ("declined", "account_frozen"), final)
        status, body, _ = self.mesh.request("PATCH", "/api/accounts/dave", {"status": "closed"})
        self.assertEqual((status, body["error"]["code"]), (409, "account_not_empty"), body)
        status, body, _ = self.mesh.request("PATCH", "/api/accounts/nobody", {"status": "active"})
        self.assertEqual(status, 404, body)

    def test_balance_at_and_statement_reconcile(self):
        start_ms = int(time.time() * 1000) - 1
        status, t = self.mesh.transfer("alice", "bob", 700)
        self.assertEqual(status, 202, t)
        self.assertEqual(self.mesh.wait_final(t["id"])["status"], "settled")
        status, now = self.mesh.get("/api/accounts/alice")
        at = urllib.parse.quote(rfc3339(int(time.time() * 1000)))
        status, bal = self.mesh.get(f"/api/accounts/alice/balance?at={at}")
        self.assertEqual(status, 200, bal)
        self.assertEqual((bal["balance"], bal["held"]), (now["balance"], now["held"]))
        before = urllib.parse.quote(rfc3339(start_ms))
        status, old = self.mesh.get(f"/api/accounts/alice/balance?at={before}")
        self.assertEqual(old["balance"], now["balance"] + 700, old)
        frm = urllib.parse.quote(rfc3339(start_ms))
        status, st = self.mesh.get(f"/api/accounts/alice/statement?from={frm}")
        self.assertEqual(status, 200, st)
        # Reconciled from the balances after each entry: an entry that moves the balance
        # (debit, credit, capture) by its amount, one that moves only the held amount (hold,
        # release, void, expire: its amount is the held change) not at all.
        balance = st["opening_balance"]
        for e in st["entries"]:
            moves_balance = e["kind"] in ("debit", "credit", "capture", "open")
            self.assertEqual(e["balance_after"], balance + (e["amount"] if moves_balance else 0), e)
            balance = e["balance_after"]
        self.assertEqual(balance, st["closing_balance"])
        self.assertEqual([e["kind"] for e in st["entries"]], ["hold", "debit"])
        self.assertEqual(st["closing_balance"], now["balance"])
        status, raw, headers = self.mesh.request(
            "GET", f"/api/accounts/alice/statement?from={frm}&format=csv")
        self.assertEqual(status, 200)
        self.assertIn("attachment", headers.get("Content-Disposition", ""))
        text = raw if isinstance(raw, str) else raw.decode()
        rows = list(csv.reader(io.StringIO(text)))
        self.assertEqual(rows[0][:3], ["seq", "at", "kind"])
        self.assertEqual(len(rows) - 1, len(st["entries"]))
        status, body = self.mesh.get("/api/accounts/alice/balance?at=yesterday")
        self.assertEqual((status, body["error"]["code"]), (400, "invalid_query"))

    def test_holds_and_currencies(self):
        status, acct = self.mesh.get("/api/accounts/alice?expand=holds")
        self.assertEqual(status, 200, acct)
        self.assertIsInstance(acct["holds"], list)
        self.assertEqual(sum(h["amount"] for h in acct["holds"]), acct["held"])
        status, cur = self.mesh.get("/api/currencies", key=self.mesh.owner_key("alice"))
        self.assertEqual(status, 200, cur)
        self.assertIn("EUR", [c["code"] for c in cur["currencies"]])


if __name__ == "__main__":
    unittest.main()
