"""Account controls and history through the binaries (issue 21, the accounts
node's side), before the gateway's PATCH and history routes exist: the
operator's account.query update goes to the accounts node's inbox on the
gateway's link (mesh.peer_socket with the gateway's key; ids gateway/(2**31+n),
clear of the real gateway's sequence), transfers go through the HTTP API as
usual, and the history ops (balance_at, statement) are asked with
ledger-harness, whose key may read but never update. Checks: a frozen
account's debits are declined account_frozen and move nothing while credits
settle; an overdraft lets an account pay past zero; a closed account takes no
money; every change is a zero-amount entry in the hash chain; statement pages
reconcile from the entries' balances; /ledger/verify lists each currency's sum.
Waits are conditions with deadlines."""
import json
import struct
import time
import unittest

import msgpack

from mesh import wait_until
from test_operator import OperatorMeshTest


class ControlsNodeTest(OperatorMeshTest):
    sent = 0

    def update(self, account, status="", overdraft=-1, principal="ops"):
        """account.query update as the gateway sends it; the reply's body."""
        ControlsNodeTest.sent += 1
        n = 2**31 + ControlsNodeTest.sent
        body = {"op": "update", "account": account, "principal": principal, "status": status,
                "overdraft_limit_minor": overdraft}
        msg = {"v": 1, "id": f"gateway/{n}", "type": "account.query", "corr": "", "cause": "",
               "ts": int(time.time() * 1000), "body": body}
        sock = self.mesh.peer_socket("accounts", key="gateway")
        try:
            sock.send_multipart([struct.pack(">Q", n), msgpack.packb(msg)])
            self.assertTrue(sock.poll(5000), f"no answer from accounts to update {account}")
            tag, answer = sock.recv_multipart()
        finally:
            sock.close()
        answer = msgpack.unpackb(answer)
        self.assertEqual(answer["type"], "account.reply", answer)
        return answer["body"]

    def ask(self, body, n):
        """An account.query the harness may send; the reply's body."""
        query = {"id": f"harness/{n}", "type": "account.query", "corr": "", "body": body}
        run = self.harness("send", "--to", "accounts", "--json", json.dumps(query))
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        answer = json.loads(run.stdout)
        self.assertEqual(answer["answer"], "account.reply", answer)
        return answer["reply"]["body"]

    def verify(self):
        status, report, _ = self.mesh.admin("accounts", "GET", "/ledger/verify")
        self.assertEqual(status, 200, report)
        self.assertTrue(report["ok"], report)
        return report

    def settle(self, src, dst, amount):
        status, t = self.mesh.transfer(src, dst, amount)
        self.assertEqual(status, 202, t)
        return self.mesh.wait_final(t["id"])

    def test_a_frozen_account_is_declined_its_debits_and_keeps_its_credits(self):
        reply = self.update("dave", status="frozen")
        self.assertEqual(reply["status"], 200, reply)
        self.assertEqual(reply["accounts"][0]["status"], "frozen")
        before = self.mesh.accounts()
        entries_before = self.verify()["entries"]
        final = self.settle("dave", "bob", 100)
        self.assertEqual((final["status"], final["reason"]["code"]), ("declined", "account_frozen"),
                         final)
        self.assertEqual(self.mesh.accounts(), before)  # nothing moved, nothing held
        self.assertEqual(self.verify()["entries"], entries_before)
        self.assertEqual(self.settle("bob", "dave", 250)["status"], "settled")
        self.assertEqual(self.mesh.accounts()["dave"]["balance"], before["dave"]["balance"] + 250)
        # the audit trail: one zero-amount entry in the hash chain, with who and what
        page = self.ask({"op": "ledger", "account": "dave", "cursor": 0, "limit": 10}, 1)
        audit = [e for e in page["entries"] if e["kind"] == "status"]
        self.assertEqual(len(audit), 1, page)
        self.assertEqual((audit[0]["memo"], audit[0]["amount_minor"], audit[0]["transfer"]),
                         ("ops: active -> frozen", 0, ""))
        # unfrozen, dave pays again
        self.assertEqual(self.update("dave", status="active")["status"], 200)
        self.assertEqual(self.settle("dave", "bob", 100)["status"], "settled")
        report = self.verify()
        self.assertIn({"currency": "GBP", "balance_sum": 0, "ok": True}, report["currencies"])
        self.assertTrue(all(c["ok"] and c["balance_sum"] == 0 for c in report["currencies"]),
                        report)

    def test_an_overdraft_lets_an_account_pay_past_zero_and_a_closed_account_takes_nothing(self):
        dave = self.mesh.accounts()["dave"]["balance"]
        self.assertEqual(self.update("dave", overdraft=2000)["accounts"][0]["overdraft_limit_minor"],
                         2000)
        self.assertEqual(self.settle("dave", "bob", dave + 2000)["status"], "settled")
        self.assertEqual(self.mesh.accounts()["dave"]["balance"], -2000)
        final = self.settle("dave", "bob", 1)
        self.assertEqual(final["reason"]["code"], "insufficient_funds", final)
        reply = self.update("dave", overdraft=1999)  # below what dave uses of it
        self.assertEqual((reply["status"], reply["code"]), (400, "invalid"), reply)
        reply = self.update("dave", status="closed")
        self.assertEqual((reply["status"], reply["code"]), (409, "account_not_empty"), reply)
        self.assertEqual(self.settle("bob", "dave", 2000)["status"], "settled")
        self.assertEqual(self.update("dave", status="closed")["status"], 200)
        reply = self.update("dave", status="active")
        self.assertEqual((reply["status"], reply["code"]), (409, "account_closed"), reply)
        before = self.mesh.accounts()
        final = self.settle("bob", "dave", 10)
        self.assertEqual(final["reason"]["code"], "account_closed", final)
        self.assertEqual(self.mesh.accounts(), before)
        self.verify()

    def test_the_harness_may_read_history_but_never_update(self):
        query = {"id": "harness/7", "type": "account.query", "corr": "",
                 "body": {"op": "update", "account": "dave", "principal": "ops", "status": "frozen",
                          "overdraft_limit_minor": -1}}
        run = self.harness("send", "--to", "accounts", "--json", json.dumps(query))
        self.assertEqual(run.returncode, 1, run.stdout + run.stderr)
        answer = json.loads(run.stdout)
        self.assertEqual((answer["answer"], answer["code"]), ("nack", "forbidden_type"), answer)
        dave = self.ask({"op": "get", "account": "dave"}, 8)["accounts"][0]
        self.assertEqual(dave["status"], "active")

    def test_balance_at_and_statement_pages_reconcile_from_the_ledger(self):
        before = self.mesh.accounts()["bob"]
        # the cut: bob's newest entry (his funding); what follows is stamped later
        cut_ms = self.ask({"op": "ledger", "account": "bob", "cursor": 0, "limit": 1},
                          19)["entries"][0]["ts_ms"]
        wait_until(lambda: int(time.time() * 1000) > cut_ms + 1, 2, "the clock to pass the cut")
        cut_ms += 1
        for amount in (100, 200, 300, 400, 500):
            self.assertEqual(self.settle("alice", "bob", amount)["status"], "settled")
        now = self.ask({"op": "get", "account": "bob"}, 20)["accounts"][0]
        then = self.ask({"op": "balance_at", "account": "bob", "at_ms": cut_ms}, 21)["accounts"][0]
        self.assertEqual((then["balance_minor"], then["held_minor"]), (before["balance"], 0))
        self.assertEqual(now["balance_minor"], before["balance"] + 1500)
        # a statement from the cut to now, two entries a page: the pages concatenate and each
        # page's opening is the previous entry's balance after
        entries, cursor, n, opening = [], 0, 30, None
        while True:
            body = {"op": "statement", "account": "bob", "from_ms": cut_ms,
                    "to_ms": int(time.time() * 1000) + 1000, "cursor": cursor, "limit": 2}
            page = self.ask(body, n)
            n += 1
            self.assertEqual(page["status"], 200, page)
            if opening is None:
                opening = page["accounts"][0]["balance_minor"]
            expected = entries[-1]["balance_after_minor"] if entries else opening
            self.assertEqual(page["accounts"][0]["balance_minor"], expected)
            entries.extend(page["entries"])
            if not page["next"]:
                break
            cursor = int(page["next"])
        self.assertEqual(opening, before["balance"])
        self.assertEqual([e["amount_minor"] for e in entries], [100, 200, 300, 400, 500])
        running = opening
        for e in entries:
            running += e["amount_minor"]
            self.assertEqual(e["balance_after_minor"], running)
        self.assertEqual(running, now["balance_minor"])
        self.verify()


if __name__ == "__main__":
    unittest.main()
