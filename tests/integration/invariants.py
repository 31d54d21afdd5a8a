"""invariants.py: what must hold for a mesh after any sequence of crashes.

check_invariants(mesh, initial_accounts, accepted) asserts:
  - every accepted transfer is in exactly one final status (FINAL_STATUSES);
  - money is conserved per currency: the balances of each currency's
    accounts, its settlement account included, sum to 0 (double entry), and
    every customer balance moved by exactly the settled transfers (their
    captured amount: a partial capture moves only what was captured);
  - nothing is held any more (every authorisation was captured, voided or
    expired, every hold of a risk timeout released);
  - no effect was applied twice: per transfer, the ledger has exactly the
    entries its final status calls for (expected_kinds);
  - refunds never exceed what they refund: per original, its settled
    refunds sum to its refunded_amount and at most its captured amount;
  - the hash chain is intact, recomputes the balances and sums to zero per
    currency (/ledger/verify).
"""
from collections import Counter, defaultdict

from mesh import FINAL_STATUSES


def expected_kinds(t):
    """The ledger entries a transfer's final status calls for, by kind."""
    status = t["status"]
    if status == "settled":
        if t.get("capture") == "manual":
            return Counter({"hold": 1, "capture": 1, "credit": 1})
        return Counter({"hold": 1, "debit": 1, "credit": 1})
    if status == "rejected_fraud":
        return Counter({"hold": 1, "release": 1})
    if status == "voided":
        return Counter({"hold": 1, "void": 1})
    if status == "expired":
        return Counter({"hold": 1, "expire": 1})
    if status == "declined" and (t.get("reason") or {}).get("code") == "risk_unavailable":
        return Counter({"hold": 1, "release": 1})  # held while fraud decided, then let go
    return Counter()  # declined before any hold


def moved_amount(t):
    """What a settled transfer moved: its captured amount (manual), else its amount."""
    return t.get("captured_amount") or t["amount"]


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


def check_money(tc, accounts, initial, transfers):
    """Per currency double entry, nothing held, balances moved by the settled transfers."""
    sums = defaultdict(int)
    for a in accounts.values():
        sums[a.get("currency", "GBP")] += a["balance"]
        tc.assertEqual(a["held"], 0, f"nothing held on {a['id']}")
    for currency, total in sums.items():
        tc.assertEqual(total, 0, f"double entry: the {currency} balances sum to 0")
    expected = {aid: a["balance"] for aid, a in initial.items()}
    for t in transfers.values():
        if t["status"] == "settled":
            expected[t["from"]] = expected.get(t["from"], 0) - moved_amount(t)
            expected[t["to"]] = expected.get(t["to"], 0) + moved_amount(t)
    for aid, a in accounts.items():
        if aid in initial:
            tc.assertEqual(a["balance"], expected[aid],
                           f"balance of {aid} moved by exactly the settled transfers")


def check_refunds(tc, transfers):
    """Each original's settled refunds add up to its refunded_amount, within what it moved."""
    settled_refunds = defaultdict(int)
    for t in transfers.values():
        if t.get("kind") == "refund" and t["status"] == "settled":
            settled_refunds[t["refund_of"]] += t["amount"]
    for tid, total in settled_refunds.items():
        original = transfers.get(tid)
        if original is None:
            continue  # an original the caller did not list (e.g. before the test)
        tc.assertEqual(original.get("refunded_amount", 0), total, f"refunded_amount of {tid}")
        tc.assertLessEqual(total, moved_amount(original), f"refunds of {tid} within it")


def check_invariants(tc, mesh, initial, accepted_ids):
    transfers = {t["id"]: t for t in mesh.all_transfers()}
    tc.assertEqual(set(transfers), set(accepted_ids), "the gateway's view holds exactly the accepted transfers")
    statuses = Counter(t["status"] for t in transfers.values())
    tc.assertTrue(set(statuses) <= FINAL_STATUSES, f"every transfer is final: {statuses}")

    accounts = mesh.accounts()
    check_money(tc, accounts, initial, transfers)
    check_refunds(tc, transfers)

    kinds = defaultdict(Counter)
    for aid in accounts:
        for e in ledger_entries(mesh, aid):
            if e.get("transfer"):
                kinds[e["transfer"]][e["kind"]] += 1
    for tid, t in transfers.items():
        tc.assertEqual(kinds.get(tid, Counter()), expected_kinds(t),
                       f"ledger entries of {tid} ({t['status']})")

    status, verify, _ = mesh.admin("accounts", "GET", "/ledger/verify")
    tc.assertEqual(status, 200, verify)
    tc.assertTrue(verify["ok"], verify)
    return statuses
