"""invariants.py: what must hold for a mesh after any sequence of crashes.

check_invariants(mesh, initial_accounts, accepted) asserts:
  - every accepted transfer is in exactly one final status;
  - money is conserved: the balances sum to 0 with the funding account
    (double entry), and the customer balances moved by exactly the settled
    transfers;
  - nothing is held any more;
  - no effect was applied twice: per transfer, the ledger has exactly the
    entries its final status calls for (settled: hold, debit, credit;
    rejected_fraud: hold, release; declined: none);
  - the hash chain is intact and recomputes the balances (/ledger/verify).
"""
from collections import Counter, defaultdict

FINAL = {"settled", "rejected_fraud", "declined"}
EXPECTED_KINDS = {
    "settled": Counter({"hold": 1, "debit": 1, "credit": 1}),
    "rejected_fraud": Counter({"hold": 1, "release": 1}),
    "declined": Counter(),
}


def ledger_entries(mesh, account):
    entries, cursor = [], None
    while True:
        path = f"/api/accounts/{account}/ledger?limit=200" + (f"&cursor={cursor}" if cursor else "")
        status, page = mesh.get(path)
        assert status == 200, (status, page)
        entries.extend(page["entries"])
        cursor = page.get("next_cursor")
        if not cursor:
            return entries


def check_invariants(tc, mesh, initial, accepted_ids):
    transfers = {t["id"]: t for t in mesh.all_transfers()}
    tc.assertEqual(set(transfers), set(accepted_ids), "the gateway's view holds exactly the accepted transfers")
    statuses = Counter(t["status"] for t in transfers.values())
    tc.assertTrue(set(statuses) <= FINAL, f"every transfer is final: {statuses}")

    accounts = mesh.accounts()
    tc.assertEqual(sum(a["balance"] for a in accounts.values()), 0, "double entry: balances sum to 0")
    for a in accounts.values():
        tc.assertEqual(a["held"], 0, f"nothing held on {a['id']}")

    expected = {aid: a["balance"] for aid, a in initial.items()}
    for t in transfers.values():
        if t["status"] == "settled":
            expected[t["from"]] -= t["amount"]
            expected[t["to"]] += t["amount"]
    for aid, a in accounts.items():
        if aid in expected:
            tc.assertEqual(a["balance"], expected[aid], f"balance of {aid} moved by exactly the settled transfers")

    kinds = defaultdict(Counter)
    for aid in accounts:
        for e in ledger_entries(mesh, aid):
            if e.get("transfer"):
                kinds[e["transfer"]][e["kind"]] += 1
    for tid, t in transfers.items():
        tc.assertEqual(kinds.get(tid, Counter()), EXPECTED_KINDS[t["status"]],
                       f"ledger entries of {tid} ({t['status']})")

    status, verify, _ = mesh.admin("accounts", "GET", "/ledger/verify")
    tc.assertEqual(status, 200, verify)
    tc.assertTrue(verify["ok"], verify)
    return statuses
