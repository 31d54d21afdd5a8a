"""Upgrades that keep the data (store/store_migrate.h): today's nodes start on
data dirs written by an older build and migrate them.

The fixtures are text dumps of the three data dirs of an older build, with
what that build showed (tests/fixtures/README.md says how they were made):
format1/ of the build before commit 2029660 (ledger format 1), format2/ of
commit 525b033 (gateway format 2: idempotency keys without a principal),
format3/ of commit 9adae66 (gateway format 3 and accounts format 2: before
ownership), pending-v1/ of commit a972895 (accounts format 3: transfer records
without reserved_seq, one transfer reserved with its funds.reserved still in
the outbox), pending-v2/ of commit 6551266 (the same, at accounts format 4,
gateway 5, fraud 2: before issue 20's seen floors), pending-v3/ of commit e4717f3 (the
same, at accounts format 5, gateway 6, fraud 3: before issue 21's payments). Each test
mdb_loads them into this mesh's data dirs. Transfers on
upgraded data are sent by the owners of their accounts: by the upgrade rule,
the principal with the account's id.
"""
import json
import os
import signal
import struct
import subprocess
import unittest

import msgpack

from mesh import NODES, MeshTest, wait_until
from test_events import SseStream

HERE = os.path.dirname(os.path.abspath(__file__))
FORMAT1 = os.path.join(HERE, "..", "fixtures", "format1")
FORMAT2 = os.path.join(HERE, "..", "fixtures", "format2")
FORMAT3 = os.path.join(HERE, "..", "fixtures", "format3")
PENDING_V1 = os.path.join(HERE, "..", "fixtures", "pending-v1")
PENDING_V2 = os.path.join(HERE, "..", "fixtures", "pending-v2")
PENDING_V3 = os.path.join(HERE, "..", "fixtures", "pending-v3")
ACCOUNTS_FORMAT = 8  # nodes/accounts/accounts_migrate.h
GATEWAY_FORMAT = 8  # nodes/gateway/gateway_migrate.h
FRAUD_FORMAT = 3  # nodes/fraud/fraud_main.c
PAUSE_ENV = "LEDGER_TEST_MIGRATION_PAUSE_MS"  # test-only hook of the migration runner


def as_format_3(account):
    """An account as the old build showed it, as it reads after accounts format 3: the
    settlement account (the old "funding") has that name and no owner, every other account
    is owned by the principal of its id."""
    account = dict(account)
    settlement = account.pop("funding")
    account["settlement"] = settlement
    account["owner"] = "" if settlement else account["id"]
    if settlement:
        account["name"] = "Settlement (GBP)"
    return account


def strip_payments(test, t):
    """Takes issue 21's fields off an old transfer's API form, checking they read as what the
    old build meant: an automatic capture, in full when settled, nothing refunded."""
    settled = t["status"] == "settled"
    got = {k: t.pop(k) for k in ("capture", "expires_at", "captured_amount", "refunded_amount",
                                 "refunds", "refund_of", "pending_action", "amount_text")}
    test.assertEqual({k: v for k, v in got.items() if k != "amount_text"},
                     {"capture": "auto", "expires_at": None,
                      "captured_amount": t["amount"] if settled else None,
                      "refunded_amount": 0, "refunds": [], "refund_of": None,
                      "pending_action": None}, t["id"])


def expected(fixture=FORMAT1):
    with open(os.path.join(fixture, "expected.json")) as f:
        return json.load(f)


ACCOUNTS_OWNERS = (r"event=migration_done node=accounts from=2 to=3 name=account_owners "
                   r"ms=\d+ accounts=(\d+) settlement=1")
GATEWAY_MIGRATED = (r"event=migration_done node=gateway from=2 to=3 name=idempotency_scoped "
                    r"ms=\d+ keys=20 index_entries=20 principal=\"\"")


class UpgradeTest(MeshTest):
    start_mesh = False

    def owner_key(self, account):
        """A key of the principal that owns `account` by the upgrade rule (its id), made once."""
        keys = self.__dict__.setdefault("_owner_keys", {})
        if account not in keys:
            keys[account] = self.mesh.principal(account)
        return keys[account]

    def send_as_owner(self, src, dst, amount, key=None, reference=None):
        return self.mesh.transfer(src, dst, amount, key=key, reference=reference,
                                  api_key=self.owner_key(src))

    def accounts_as_before(self):
        """The accounts as the old builds showed them: each one active without an overdraft
        (the defaults of accounts from before issue 21's controls), those two keys left out."""
        accounts = self.mesh.accounts()
        for a in accounts.values():
            self.assertEqual((a.pop("status"), a.pop("overdraft_limit")), ("active", 0), a)
        return accounts

    def data_dir(self, node):
        return os.path.join(self.mesh.tmp, "data", node)

    def load(self, node, dump=None, fixture=FORMAT1):
        os.makedirs(self.data_dir(node), exist_ok=True)
        subprocess.run(["mdb_load", "-f", dump or os.path.join(fixture, f"{node}.dump"),
                        self.data_dir(node)], check=True, capture_output=True)

    def start_on_loaded_dirs(self, attempts=3):
        """Starts the three nodes on the dirs as they are; on a lost port (another
        test took it), again on fresh ports: the dirs are kept."""
        for _ in range(attempts):
            for node in NODES:
                if not self.mesh.running(node):
                    self.mesh.start(node)
            try:
                wait_until(lambda: self.mesh.all_answer() or
                           any(not self.mesh.running(n) for n in NODES), 30, "the mesh to start")
            except AssertionError:
                pass
            if all(self.mesh.running(n) for n in NODES) and self.mesh.all_answer():
                return
            for node in NODES:
                self.mesh.kill(node)
            self.mesh.pick_ports()
        self.fail("the mesh did not start on the loaded dirs; see the node logs")

    def verify(self):
        status, report, _ = self.mesh.admin("accounts", "GET", "/ledger/verify")
        self.assertEqual(status, 200, report)
        return report

    def new_settlement_accounts(self, accounts, old):
        """The accounts the old build did not have: each a settlement account of another
        currency than GBP, at zero (issue 21: the accounts node makes one per currency)."""
        new = {a: acct for a, acct in accounts.items() if a not in old["accounts"]}
        for a, acct in new.items():
            self.assertTrue(acct["settlement"] and acct["currency"] != "GBP", acct)
            self.assertEqual((acct["balance"], acct["held"]), (0, 0), acct)
        return new

    def assert_old_data_kept(self, old):
        accounts = self.accounts_as_before()
        for a in self.new_settlement_accounts(accounts, old):
            del accounts[a]
        self.assertEqual(accounts, {a: as_format_3(acct) for a, acct in
                                    old["accounts"].items()})
        transfers = {t["id"]: t for t in self.mesh.all_transfers()}
        for t in transfers.values():  # derived from the accounts, never stored: old ones too
            self.assertEqual(t.pop("kind"), "deposit" if t["from"] == "funding" else
                             "withdrawal" if t["to"] == "funding" else "transfer", t)
            strip_payments(self, t)
        self.assertEqual(transfers, old["transfers"])
        for acct, entries in old["ledgers"].items():
            status, page = self.mesh.get(f"/api/accounts/{acct}/ledger?limit=200")
            self.assertEqual(status, 200, page)
            self.assertEqual(page["entries"], entries, acct)

    def assert_only_seen_floors(self, node):
        """`node`'s dir was at the format before issue 20's: the migrations that ran are
        seen_floors (store.h), which writes nothing, and those of the formats after it
        (issue 21's: their own tests check them)."""
        log = self.mesh.log(node)
        current = {"accounts": ACCOUNTS_FORMAT, "gateway": GATEWAY_FORMAT}.get(node, FRAUD_FORMAT)
        later = current - {"accounts": 5, "gateway": 6, "fraud": 3}[node]
        self.assertEqual(log.count("event=migration_started"), 1 + later, node)
        self.assertRegex(log, rf"event=migration_started node={node} from=\d+ to=\d+ "
                         "name=seen_floors")

    def test_format_1_dirs_are_migrated_and_keep_their_data(self):
        old = expected()
        for node in NODES:
            self.load(node)
        self.start_on_loaded_dirs()
        accounts_log = self.mesh.log("accounts")
        self.assertIn("event=store_format_detected node=accounts version=1", accounts_log)
        self.assertIn("event=migration_started node=accounts from=1 to=2 name=account_chains",
                      accounts_log)
        self.assertRegex(accounts_log, r"event=migration_done node=accounts from=1 to=2 "
                         r"name=account_chains ms=\d+ entries=62 accounts=8 records=8 tip_seq=62 "
                         r"old_tip=[0-9a-f]{64} new_tip=[0-9a-f]{64}")
        self.assertRegex(self.mesh.log("fraud"), r"event=migration_done node=fraud from=1 to=2 "
                         r"name=compact_risk_keys ms=\d+ risk_keys=\d+")
        self.assertIn("event=store_format_detected node=gateway version=2", self.mesh.log("gateway"))
        self.assertRegex(self.mesh.log("gateway"), GATEWAY_MIGRATED)

        report = self.verify()
        self.assertTrue(report["ok"], report)
        self.assertEqual(report["entries"], old["verify"]["entries"])
        self.assert_old_data_kept(old)

        # The old idempotency keys belong to no principal (gateway_migrate.h): the same key
        # with the same body is the retry of the old request (its transfer, nothing new); with
        # another body it is a new request of its sender.
        self.assert_old_key_replays_only_its_request(old)

        # New transfers on top of the migrated ledger.
        before = self.accounts_as_before()
        status, t = self.send_as_owner("alice", "bob", 250)
        self.assertEqual(status, 202, t)
        self.assertEqual(self.mesh.wait_final(t["id"])["status"], "settled")
        status, t = self.send_as_owner("dave", "alice", 10 ** 9)
        self.assertEqual(self.mesh.wait_final(t["id"])["status"], "declined")
        after = self.accounts_as_before()
        self.assertEqual(after["alice"]["balance"], before["alice"]["balance"] - 250)
        self.assertEqual(after["bob"]["balance"], before["bob"]["balance"] + 250)
        report = self.verify()
        self.assertTrue(report["ok"], report)
        # hold, debit, credit of the 250 and of the old key's new (other body) transfer
        self.assertEqual(report["entries"], old["verify"]["entries"] + 6)

        # A second start runs no migration and keeps everything.
        for node in NODES:
            self.assertEqual(self.mesh.stop(node), 0, node)
        self.start_on_loaded_dirs()
        for node in NODES:
            log = self.mesh.log(node)
            # one start migrated, the second one nothing: the gateway 2 -> 3 -> 4 -> 5 -> 6 -> 7 -> 8,
            # accounts 1 -> 2 (account_chains) -> 3 (account_owners) -> 4 (transfer_causes)
            # -> 5 (seen_floors) -> 6 (payments_life) -> 7 (controls_history)
            # -> 8 (reserved_in_memory),
            # fraud 1 -> 2 -> 3 (seen_floors)
            self.assertEqual(log.count("event=migration_started"),
                             {"gateway": GATEWAY_FORMAT - 2,
                              "accounts": ACCOUNTS_FORMAT - 1}.get(node, FRAUD_FORMAT - 1), node)
            version = {"gateway": GATEWAY_FORMAT, "accounts": ACCOUNTS_FORMAT}.get(node,
                                                                                 FRAUD_FORMAT)
            self.assertIn(f"event=store_format_current node={node} version={version} migrations=0",
                          log)
        self.assertEqual(self.accounts_as_before(), after)
        self.assertTrue(self.verify()["ok"])

    def assert_old_key_replays_only_its_request(self, old):
        key, tid = next(iter(old["idempotency_keys"].items()))
        t = old["transfers"][tid]
        before = self.accounts_as_before()
        status, again = self.send_as_owner(t["from"], t["to"], t["amount"], key=key,
                                           reference=t.get("reference"))
        self.assertIn(status, (200, 202), again)
        self.assertEqual(again["id"], tid)  # the retry of a request sent before the upgrade
        self.assertEqual(self.accounts_as_before(), before)  # nothing moved twice
        status, other = self.send_as_owner(t["from"], t["to"], t["amount"] + 1, key=key,
                                           reference=t.get("reference"))
        self.assertEqual(status, 202, other)
        self.assertNotEqual(other["id"], tid)
        self.mesh.wait_final(other["id"])

    def test_format_2_gateway_keys_are_scoped_and_the_data_kept(self):
        old = expected(FORMAT2)
        for node in NODES:
            self.load(node, fixture=FORMAT2)
        self.start_on_loaded_dirs()
        gateway_log = self.mesh.log("gateway")
        self.assertIn("event=migration_started node=gateway from=2 to=3 name=idempotency_scoped",
                      gateway_log)
        self.assertRegex(gateway_log, GATEWAY_MIGRATED)
        self.assertRegex(self.mesh.log("accounts"), ACCOUNTS_OWNERS)
        self.assert_only_seen_floors("fraud")
        self.assert_old_data_kept(old)
        self.assertTrue(self.verify()["ok"])
        self.assert_old_key_replays_only_its_request(old)
        # Keys are per principal from now on: one key, two principals, two transfers.
        status, a = self.send_as_owner("alice", "carol", 5, key="after-upgrade")
        self.assertEqual(status, 202, a)
        status, b = self.send_as_owner("bob", "carol", 5, key="after-upgrade")
        self.assertEqual(status, 202, b)
        self.assertNotEqual(a["id"], b["id"])
        # A second start runs nothing.
        for node in NODES:
            self.assertEqual(self.mesh.stop(node), 0, node)
        self.start_on_loaded_dirs()
        self.assertIn(f"event=store_format_current node=gateway version={GATEWAY_FORMAT} migrations=0",
                      self.mesh.log("gateway"))

    def test_format_3_gateway_gets_its_owner_map_and_each_owner_sees_its_transfers(self):
        old = expected(FORMAT3)
        for node in NODES:
            self.load(node, fixture=FORMAT3)
        self.start_on_loaded_dirs()
        log = self.mesh.log("gateway")
        self.assertIn("event=migration_started node=gateway from=3 to=4 name=owner_map", log)
        n = len(old["transfers"])
        self.assertRegex(log, r"event=migration_done node=gateway from=3 to=4 name=owner_map "
                         rf"ms=\d+ transfers={n} index_entries=\d+ owners=\d+ conflicts=0")
        self.assertRegex(log, r"event=migration_done node=gateway from=4 to=5 name=event_viewers "
                         r"ms=\d+ events=[1-9]\d*")
        self.assert_old_data_kept(old)  # the operator (tester) still sees everything
        # Each owner (the principal with the account's id) sees the old transfers that touch
        # its account, and nobody else's.
        for account in ("alice", "bob"):
            mine = {tid for tid, t in old["transfers"].items() if account in (t["from"], t["to"])}
            status, page = self.mesh.get("/api/transfers?limit=200", key=self.owner_key(account))
            self.assertEqual(status, 200, page)
            self.assertEqual({t["id"] for t in page["transfers"]}, mine, account)
            other = next(tid for tid in old["transfers"] if tid not in mine)
            self.assertEqual(self.mesh.get(f"/api/transfers/{other}", key=self.owner_key(account))[0],
                             404)
        status, alice = self.mesh.get("/api/accounts/alice", key=self.owner_key("alice"))
        self.assertEqual((status, alice["balance"]), (200, old["accounts"]["alice"]["balance"]))
        self.assertEqual(self.mesh.get("/api/accounts/bob", key=self.owner_key("alice"))[0], 404)
        # alice sends from her account; not from bob's (nothing created).
        status, p = self.mesh.transfer("bob", "alice", 5, api_key=self.owner_key("alice"))
        self.assertEqual((status, p["error"]["code"]), (403, "forbidden_account"))
        status, t = self.send_as_owner("alice", "bob", 5)
        self.assertEqual(status, 202, t)
        self.assertEqual(len(self.mesh.all_transfers()), n + 1)
        # The old events name their viewers (4 -> 5): alice's replay of the whole log, up to
        # her new transfer, carries her transfers only.
        alice_ids = {tid for tid, x in old["transfers"].items() if "alice" in (x["from"], x["to"])}
        stream = SseStream(self.mesh.http_port, last_event_id=0, key=self.owner_key("alice"))
        seen = set()
        try:
            self.assertEqual(stream.status, 200)
            while t["id"] not in seen:
                block = stream.next_event(10.0)
                self.assertIsNotNone(block, f"the replay ended before {t['id']}; saw {seen}")
                seen.add(json.loads(block["data"])["transfer"]["id"])
        finally:
            stream.close()
        self.assertEqual(seen, alice_ids | {t["id"]})
        for node in NODES:
            self.assertEqual(self.mesh.stop(node), 0, node)
        self.start_on_loaded_dirs()
        self.assertIn(f"event=store_format_current node=gateway version={GATEWAY_FORMAT} migrations=0",
                      self.mesh.log("gateway"))

    def test_a_crash_during_the_migration_is_finished_by_the_next_start(self):
        old = expected()
        for node in NODES:
            self.load(node)
        self.mesh.extra_env = {"accounts": {PAUSE_ENV: "60000"}}
        self.mesh.start("accounts")
        wait_until(lambda: "event=migration_test_pause node=accounts" in self.mesh.log("accounts"),
                   30, "the accounts migration to reach its pause before the commit")
        self.mesh.kill("accounts", signal.SIGKILL)
        self.assertNotIn("event=migration_done", self.mesh.log("accounts"))
        # Killed before the commit: the format-1 index is still there, nothing half done.
        dump = subprocess.run(["mdb_dump", "-s", "ledger_by_account", self.data_dir("accounts")],
                              capture_output=True, text=True)
        self.assertEqual(dump.returncode, 0, dump.stderr)

        self.mesh.extra_env = {}
        self.start_on_loaded_dirs()
        log = self.mesh.log("accounts")
        self.assertEqual(log.count("event=migration_started node=accounts from=1 to=2"), 2)
        self.assertEqual(log.count("event=migration_done node=accounts from=1 to=2"), 1)
        report = self.verify()
        self.assertTrue(report["ok"], report)
        self.assertEqual(report["entries"], old["verify"]["entries"])
        self.assert_old_data_kept(old)
        gone = subprocess.run(["mdb_dump", "-s", "ledger_by_account", self.data_dir("accounts")],
                              capture_output=True, text=True)
        self.assertNotEqual(gone.returncode, 0)  # the index was dropped with the migration

    def test_a_dir_newer_than_the_binary_is_refused_with_both_versions(self):
        newer = os.path.join(self.mesh.tmp, "newer.dump")
        key = b"store:format".hex()
        with open(newer, "w") as f:
            f.write("VERSION=3\nformat=bytevalue\ndatabase=meta\ntype=btree\nHEADER=END\n"
                    f" {key}\n 00000009\nDATA=END\n")
        self.load("accounts", newer)
        self.mesh.start("accounts")
        proc = self.mesh.procs["accounts"]
        self.assertNotEqual(proc.wait(timeout=20), 0)
        log = self.mesh.log("accounts")
        self.assertIn("event=store_format_newer node=accounts version=9 "
                      f"binary_version={ACCOUNTS_FORMAT}", log)
        self.assertIn("this accounts data dir is format 9, newer than this build's format "
                      f"{ACCOUNTS_FORMAT}", log)
        dump = subprocess.run(["mdb_dump", "-s", "meta", self.data_dir("accounts")],
                              capture_output=True, text=True, check=True).stdout
        self.assertIn(f" {key}\n 00000009\n", dump)  # left as it was

    def stored_accounts(self, controls=False):
        """The accounts node's account records, read from its stopped data dir:
        {id: (record version, settlement flag, owner)} (nodes/accounts/accounts_record.h);
        with controls, (version, status, overdraft_limit_minor, entry_count) (version 4)."""
        dump = subprocess.run(["mdb_dump", "-s", "accounts", self.data_dir("accounts")],
                              capture_output=True, text=True, check=True).stdout
        lines = dump.split("HEADER=END\n", 1)[1].split("DATA=END", 1)[0].split()
        records = {}
        for key, val in zip(lines[0::2], lines[1::2]):
            rec = bytes.fromhex(val)
            at = 1 + 1 + 3 + 4 * 8  # version, flags, currency, balance, held, created, ledger_seq
            strings = []
            while at < len(rec) and len(strings) < (3 if rec[0] >= 3 else 2):  # id, name, owner
                n = rec[at]
                strings.append(rec[at + 1:at + 1 + n].decode())
                at += 1 + n
            self.assertEqual(strings[0], bytes.fromhex(key).decode())
            if controls:
                self.assertEqual(len(rec), at + 1 + 8 + 8, strings[0])
                records[strings[0]] = (rec[0], rec[at], int.from_bytes(rec[at + 1:at + 9], "big"),
                                       int.from_bytes(rec[at + 9:], "big"))
            else:
                records[strings[0]] = (rec[0], bool(rec[1] & 1),
                                       strings[2] if len(strings) > 2 else None)
        return records

    def test_format_3_accounts_get_owners_and_keep_their_data(self):
        old = expected(FORMAT3)
        for node in NODES:
            self.load(node, fixture=FORMAT3)
        self.start_on_loaded_dirs()
        accounts_log = self.mesh.log("accounts")
        self.assertIn("event=migration_started node=accounts from=2 to=3 name=account_owners",
                      accounts_log)
        self.assertRegex(accounts_log, ACCOUNTS_OWNERS)
        self.assert_only_seen_floors("fraud")
        report = self.verify()
        self.assertTrue(report["ok"], report)
        self.assertEqual(report["entries"], old["verify"]["entries"])
        self.assert_old_data_kept(old)

        # Every account is a version-3 record owned by the principal of its id; the settlement
        # account ("funding") by nobody.
        for node in NODES:
            self.assertEqual(self.mesh.stop(node), 0, node)
        records = self.stored_accounts()
        # plus a settlement account per other currency (issue 21), "funding-<code>"
        self.assertTrue(all(a.startswith("funding-") for a in set(records) - set(old["accounts"])))
        self.assertTrue(set(old["accounts"]) <= set(records))
        for acct, (version, settlement, owner) in records.items():
            self.assertEqual(version, 4, acct)  # 2 -> 3 gave the owner, 6 -> 7 the controls
            self.assertEqual(settlement, acct.startswith("funding"), acct)
            self.assertEqual(owner, "" if acct.startswith("funding") else acct, acct)
        self.assertIn(f"accounts={len(old['accounts']) - 1} settlement=1", accounts_log)

        # A second start runs no accounts migration and keeps everything.
        self.start_on_loaded_dirs()
        self.assertIn(f"event=store_format_current node=accounts version={ACCOUNTS_FORMAT} "
                      "migrations=0", self.mesh.log("accounts"))
        self.assert_old_data_kept(old)
        self.assertTrue(self.verify()["ok"])

    def stored_transfers(self, risk_deadline=False):
        """The accounts node's transfer records, read from its stopped data dir:
        {id: (record version, reserved_seq or None)} (nodes/accounts/accounts_record.h);
        with risk_deadline, (version, reserved_seq, risk_deadline_ms or None)."""
        dump = subprocess.run(["mdb_dump", "-s", "transfers", self.data_dir("accounts")],
                              capture_output=True, text=True, check=True).stdout
        lines = dump.split("HEADER=END\n", 1)[1].split("DATA=END", 1)[0].split()
        records = {}
        for key, val in zip(lines[0::2], lines[1::2]):
            rec = bytes.fromhex(val)
            at = 1 + 1 + 8 + 3 + 8 + 8  # version, state, amount, currency, created, updated
            for _ in range(4):  # from, to, code, reference
                at += 1 + rec[at]
            if rec[0] >= 2:
                at += 1  # kind
                at += 1 + rec[at]  # principal
            seq = int.from_bytes(rec[at:at + 8], "big") if rec[0] >= 3 else None
            deadline = int.from_bytes(rec[at + 17:at + 25], "big") if rec[0] >= 4 else None
            records[bytes.fromhex(key).decode()] = ((rec[0], seq, deadline) if risk_deadline
                                                    else (rec[0], seq))
        return records

    def test_a_transfer_reserved_before_the_cause_check_settles_once_fraud_runs(self):
        """Accounts format 3 -> 4 (transfer_causes): the transfer reserved by the old build,
        its funds.reserved still in the accounts outbox, gets that message's seq; fraud (down
        when the old build stopped) gets the message, its verdict cites it and settles the
        transfer once; nothing is refused or dead-lettered."""
        old = expected(PENDING_V1)
        pending, cause = old["pending"], old["funds_reserved"]
        amount = old["transfers"][pending]["amount"]
        src, dst = old["transfers"][pending]["from"], old["transfers"][pending]["to"]
        self.assertEqual(old["accounts"][src]["held"], amount)
        for node in NODES:
            self.load(node, fixture=PENDING_V1)
        self.start_on_loaded_dirs()
        log = self.mesh.log("accounts")
        self.assertIn("event=migration_started node=accounts from=3 to=4 name=transfer_causes", log)
        self.assertRegex(log, r"event=migration_done node=accounts from=3 to=4 "
                         r"name=transfer_causes ms=\d+ transfers=\d+ reserved=1 causes_found=1 "
                         r"origin_only=0")
        self.assert_only_seen_floors("fraud")
        self.assert_only_seen_floors("gateway")

        final = self.mesh.wait_final(pending)
        self.assertEqual(final["status"], "settled", final)
        self.mesh.wait_outboxes_empty()
        accounts = self.accounts_as_before()
        self.assertEqual(accounts[src]["balance"], old["accounts"][src]["balance"] - amount)
        self.assertEqual(accounts[src]["held"], 0)
        self.assertEqual(accounts[dst]["balance"], old["accounts"][dst]["balance"] + amount)
        for acct in set(old["accounts"]) - {src, dst}:
            self.assertEqual(accounts[acct], old["accounts"][acct], acct)
        report = self.verify()
        self.assertTrue(report["ok"], report)
        self.assertEqual(report["entries"], old["verify"]["entries"] + 2)  # debit, credit
        status, dead, _ = self.mesh.admin("fraud", "GET", "/dead-letters")
        self.assertEqual((status, dead["dead_letters"]), (200, []))
        self.assertNotIn("verdict cites cause", self.mesh.log("accounts"))

        # The record of the migrated transfer is version 4 (3 -> 4 gave it its cause, 5 -> 6 its
        # risk deadline) and names its funds.reserved; the other transfers (final before the
        # upgrade) were not rewritten.
        for node in NODES:
            self.assertEqual(self.mesh.stop(node), 0, node)
        records = self.stored_transfers()
        self.assertEqual(records[pending], (4, int(cause.split("/")[1])))
        for tid, (version, _) in records.items():
            if tid != pending:
                self.assertEqual(version, 2, tid)
        # A second start runs nothing and keeps everything.
        self.start_on_loaded_dirs()
        self.assertIn(f"event=store_format_current node=accounts version={ACCOUNTS_FORMAT} "
                      "migrations=0", self.mesh.log("accounts"))
        self.assertEqual(self.accounts_as_before(), accounts)
        self.assertEqual(self.mesh.transfer_status(pending)["status"], "settled")

    def test_seen_floors_come_in_and_old_ids_stay_duplicates(self):
        """Accounts 4 -> 5, gateway 5 -> 6, fraud 2 -> 3 (seen_floors, store.h): each node's
        only migration, which writes nothing. The transfer reserved by the old build settles
        once fraud runs; a funds.reserved fraud applied before the upgrade, sent again with
        its old id, is a duplicate: acked, no second verdict, no money moves."""
        old = expected(PENDING_V2)
        pending, settled = old["pending"], old["settled"]
        reserved = next(s for s in old["transfers"][settled]["timeline"]
                        if s["step"] == "funds.reserved")
        for node in NODES:
            self.load(node, fixture=PENDING_V2)
        self.start_on_loaded_dirs()
        for node, (start, end) in {"accounts": (4, 5), "gateway": (5, 6),
                                   "fraud": (2, 3)}.items():
            if node != "accounts":  # accounts also runs 5 -> 6 -> 7 (issue 21)
                self.assert_only_seen_floors(node)
            self.assertRegex(self.mesh.log(node), rf"event=migration_done node={node} "
                             rf"from={start} to={end} name=seen_floors ms=\d+ origins=\d+ "
                             "floors=0")
        self.assertEqual(self.mesh.wait_final(pending)["status"], "settled")
        self.mesh.wait_outboxes_empty()
        after = self.accounts_as_before()

        sock = self.mesh.peer_socket("fraud", key="accounts")
        self.addCleanup(sock.close)
        t = old["transfers"][settled]
        body = {"transfer": settled, "from": t["from"], "to": t["to"], "amount_minor": t["amount"],
                "currency": "GBP", "reference": "settled", "principal": t["from"],
                "kind": "transfer"}
        env = {"v": 1, "id": reserved["message_id"], "type": "funds.reserved", "corr": settled,
               "cause": reserved["cause"], "ts": reserved["ts_ms"], "body": body}
        sock.send_multipart([struct.pack(">Q", 7), msgpack.packb(env)])
        self.assertTrue(sock.poll(10000), "fraud did not answer the old funds.reserved")
        tags, frame = sock.recv_multipart()
        answer = msgpack.unpackb(frame)
        self.assertEqual((struct.unpack(">Q", tags)[0], answer["type"]), (7, "ack"), answer)
        wait_until(lambda: f"event=duplicate id={reserved['message_id']} " in
                   self.mesh.log("fraud"), what="fraud to log the old id as a duplicate")
        status, outbox, _ = self.mesh.admin("fraud", "GET", "/outbox")
        self.assertEqual((status, outbox["entries"]), (200, []))
        self.assertEqual(self.accounts_as_before(), after)
        self.assertEqual(self.accounts_as_before()[t["from"]]["held"], 0)
        self.assertTrue(self.verify()["ok"])
        # A second start runs nothing.
        for node in NODES:
            self.assertEqual(self.mesh.stop(node), 0, node)
        self.start_on_loaded_dirs()
        self.assertIn(f"event=store_format_current node=fraud version={FRAUD_FORMAT} "
                      "migrations=0", self.mesh.log("fraud"))

    def test_pending_v3_gtransfers_views_read_as_auto_and_take_the_new_routes(self):
        """Gateway 7 -> 8 (transfer_payments): writes nothing; the old view records read as
        automatic captures with nothing refunded, the settled one shows its captured amount,
        is found by the new filters and can be refunded; the one pending at the upgrade
        settles and reads as captured in full."""
        old = expected(PENDING_V3)
        pending, settled = old["pending"], old["settled"]
        for node in NODES:
            self.load(node, fixture=PENDING_V3)
        self.start_on_loaded_dirs()
        self.assertRegex(self.mesh.log("gateway"), r"event=migration_done node=gateway from=7 "
                         r"to=8 name=transfer_payments ms=\d+ transfers=\d+")
        t = self.mesh.transfer_status(settled)
        want = old["transfers"][settled]
        self.assertEqual({k: t[k] for k in want if k != "timeline"},
                         {k: v for k, v in want.items() if k != "timeline"})
        self.assertEqual((t["capture"], t["expires_at"], t["captured_amount"], t["refunded_amount"],
                          t["refunds"], t["refund_of"], t["pending_action"], t["amount_text"]),
                         ("auto", None, want["amount"], 0, [], None, None, "7.00"))
        status, page = self.mesh.get("/api/transfers?status=settled&account=carol")
        self.assertEqual(status, 200, page)
        self.assertIn(settled, [x["id"] for x in page["transfers"]])
        self.assertEqual(self.mesh.wait_final(pending)["status"], "settled")
        self.assertEqual(self.mesh.transfer_status(pending)["captured_amount"],
                         old["transfers"][pending]["amount"])
        # The old settled transfer is refundable by its payee, at most its amount.
        status, p, _ = self.mesh.request("POST", f"/api/transfers/{settled}/refunds",
                                         {"amount": 701}, {"Idempotency-Key": "old-refund-1"},
                                         key=self.owner_key(want["to"]))
        self.assertEqual((status, p["error"]["code"]), (422, "exceeds_refundable"), p)
        status, r, _ = self.mesh.request("POST", f"/api/transfers/{settled}/refunds",
                                         {"amount": 200}, {"Idempotency-Key": "old-refund-2"},
                                         key=self.owner_key(want["to"]))
        self.assertEqual((status, r["kind"], r["refund_of"]), (202, "refund", settled), r)
        self.assertEqual(self.mesh.transfer_status(settled)["refunds"], [r["id"]])
        # A second start runs nothing.
        self.assertEqual(self.mesh.stop("gateway"), 0)
        self.start_on_loaded_dirs()
        self.assertIn(f"event=store_format_current node=gateway version={GATEWAY_FORMAT} "
                      "migrations=0", self.mesh.log("gateway"))

    def test_pending_v3_saga_gives_the_reserved_transfer_a_risk_deadline(self):
        """Accounts 5 -> 6 (payments_life, nodes/accounts/accounts_migrate.h): the transfer
        reserved by the old build (fraud was stopped) gets a risk deadline of the upgrade time
        + --risk-timeout-ms, its hold entry and its timer. With fraud still away, the accounts
        node declines it risk_unavailable by itself and releases the hold; when fraud comes
        back its verdict changes nothing. The settled transfer's record is not rewritten."""
        old = expected(PENDING_V3)
        pending, settled = old["pending"], old["settled"]
        src = old["transfers"][pending]["from"]
        self.assertEqual(old["accounts"][src]["held"], old["transfers"][pending]["amount"])
        for node in NODES:
            self.load(node, fixture=PENDING_V3)
        self.mesh.extra_env["accounts"] = {"LEDGER_RISK_TIMEOUT_MS": "2000"}
        for node in ("accounts", "gateway"):  # fraud stays away
            self.mesh.start(node)
        wait_until(lambda: self.mesh.answers("accounts") and self.mesh.answers("gateway"), 30,
                   "accounts and gateway to start")
        self.mesh.ensure_key()
        log = self.mesh.log("accounts")
        self.assertRegex(log, r"event=migration_done node=accounts from=5 to=6 "
                         r"name=payments_life ms=\d+ transfers=\d+ reserved=1")
        wait_until(lambda: self.mesh.accounts()[src]["held"] == 0, 30,
                   "the accounts node to release the old hold by itself")
        final = self.mesh.wait_final(pending, timeout=30)
        self.assertEqual((final["status"], final["reason"]["code"]),
                         ("declined", "risk_unavailable"), final)
        self.mesh.start("fraud")
        wait_until(self.mesh.all_answer, 30, "fraud to start")
        self.mesh.wait_outboxes_empty(timeout=30)
        accounts = self.accounts_as_before()
        for acct in old["accounts"]:  # nothing moved, and no hold is left
            want = dict(old["accounts"][acct], held=0)
            want["available"] = want["balance"]
            self.assertEqual(accounts[acct], want, acct)
        report = self.verify()
        self.assertTrue(report["ok"], report)
        self.assertEqual(report["entries"], old["verify"]["entries"] + 1)  # the release
        for node in NODES:
            self.assertEqual(self.mesh.stop(node), 0, node)
        records = self.stored_transfers(risk_deadline=True)
        self.assertEqual(records[pending][0], 4)
        self.assertGreater(records[pending][2], old["transfers"][pending]["created_ms"])
        self.assertEqual(records[settled][0], 3)  # final: not rewritten
        self.start_on_loaded_dirs()
        self.assertIn(f"event=store_format_current node=accounts version={ACCOUNTS_FORMAT} "
                      "migrations=0", self.mesh.log("accounts"))
    def test_pending_v3_reserved_in_memory_keeps_every_hold_across_a_crash(self):
        """Accounts 7 -> 8 (reserved_in_memory, nodes/accounts/accounts_migrate.h): nothing is
        rewritten; the transfer the old build reserved keeps its "hd/" entry and its timer. A
        transfer reserved by this build lives in memory (accounts_reserved.h). With fraud away
        both are listed by `?expand=holds`, still listed after a SIGKILL and a fresh start
        (the new one from the ledger after the checkpoint mark), and both settle once fraud
        runs, leaving no hold."""
        old = expected(PENDING_V3)
        pending = old["pending"]
        src = old["transfers"][pending]["from"]
        for node in NODES:
            self.load(node, fixture=PENDING_V3)
        for node in ("accounts", "gateway"):  # fraud stays away
            self.mesh.start(node)
        wait_until(lambda: self.mesh.answers("accounts") and self.mesh.answers("gateway"), 30,
                   "accounts and gateway to start")
        self.mesh.ensure_key()
        self.assertRegex(self.mesh.log("accounts"),
                         r"event=migration_done node=accounts from=7 to=8 "
                         r"name=reserved_in_memory ms=\d+ holds_indexed=1 timers=1")
        other = next(a for a, v in old["accounts"].items()
                     if a != src and not a.startswith("funding") and v["balance"] >= 300)
        status, fresh = self.send_as_owner(other, src, 300)
        self.assertEqual(status, 202, fresh)

        def holds():
            listed = {}
            for acct in (src, other):
                status, body = self.mesh.get(f"/api/accounts/{acct}?expand=holds")
                self.assertEqual(status, 200, body)
                self.assertEqual(sum(h["amount"] for h in body["holds"]), body["held"], body)
                listed[acct] = [h["transfer"] for h in body["holds"]]
            return listed

        want = {src: [pending], other: [fresh["id"]]}
        wait_until(lambda: holds() == want, 30, "the old and the new hold listed")
        self.mesh.restart("accounts")  # SIGKILL: the new hold's timer was only in memory
        wait_until(lambda: self.mesh.answers("accounts"), 30, "accounts to start again")
        wait_until(lambda: holds() == want, 30, "both holds listed after the crash")
        self.mesh.start("fraud")
        wait_until(self.mesh.all_answer, 30, "fraud to start")
        for tid in (pending, fresh["id"]):
            self.assertEqual(self.mesh.wait_final(tid, timeout=30)["status"], "settled", tid)
        wait_until(lambda: holds() == {src: [], other: []}, 30, "no hold left")
        report = self.verify()
        self.assertTrue(report["ok"], report)

    def test_pending_v3_controls_history_counts_entries_and_the_controls_apply(self):
        """Accounts 6 -> 7 (controls_history, nodes/accounts/accounts_migrate.h), after the
        saga's 5 -> 6 (payments_life): every account record becomes version 4, active,
        no overdraft, with entry_count = its ledger entries; the ledger is not rewritten and
        verifies, with each currency's sum; the reserved transfer settles once fraud runs
        (a hold from before the upgrade settles); the funds rule holds after the upgrade; a
        second start runs nothing."""
        old = expected(PENDING_V3)
        pending = old["pending"]
        for node in NODES:
            self.load(node, fixture=PENDING_V3)
        self.start_on_loaded_dirs()
        log = self.mesh.log("accounts")
        self.assertRegex(log, r"event=migration_done node=accounts from=\d+ to=\d+ "
                         rf"name=controls_history ms=\d+ accounts={len(old['accounts'])} "
                         r"entries=\d+ checkpoints=0")
        self.assertEqual(self.mesh.wait_final(pending)["status"], "settled")
        self.mesh.wait_outboxes_empty()
        report = self.verify()
        self.assertTrue(report["ok"], report)
        self.assertEqual(report["entries"], old["verify"]["entries"] + 2)  # debit, credit
        self.assertEqual(report["currencies"], [{"currency": "GBP", "balance_sum": 0, "ok": True}])
        accounts = self.mesh.accounts()
        self.new_settlement_accounts(accounts, old)
        status, t = self.send_as_owner("dave", "bob", accounts["dave"]["available"] + 1)
        self.assertEqual(status, 202, t)
        final = self.mesh.wait_final(t["id"])
        self.assertEqual(final["reason"]["code"], "insufficient_funds", final)
        self.assertEqual(self.mesh.accounts(), accounts)

        # Each record is version 4, active, no overdraft, and counts its account's entries.
        ledgers = {}
        for acct in accounts:
            status, page = self.mesh.get(f"/api/accounts/{acct}/ledger?limit=200")
            self.assertEqual(status, 200, page)
            ledgers[acct] = len(page["entries"])
        for node in NODES:
            self.assertEqual(self.mesh.stop(node), 0, node)
        records = self.stored_accounts(controls=True)
        self.assertEqual(set(records), set(accounts))  # with the new currencies' settlement
        for acct, (version, status, overdraft, entry_count) in records.items():
            self.assertEqual((version, status, overdraft, entry_count), (4, 0, 0, ledgers[acct]),
                             acct)
        self.start_on_loaded_dirs()
        self.assertIn(f"event=store_format_current node=accounts version={ACCOUNTS_FORMAT} "
                      "migrations=0", self.mesh.log("accounts"))
        self.assertTrue(self.verify()["ok"])

    def test_pending_v3_gateway_accounts_operators_get_accounts_manage(self):
        """Gateway 6 -> 7 (accounts_manage_scope; 8 once the transfers' format 7 is merged
        before it): the operator that could open accounts (the fixture's tester) may now
        manage them, with its old key; customers get nothing. A customer's PATCH is 403 and
        changes nothing; the accounts answer with their status and overdraft limit."""
        old = expected(PENDING_V3)
        for node in NODES:
            self.load(node, fixture=PENDING_V3)
        self.start_on_loaded_dirs()
        self.assertRegex(self.mesh.log("gateway"), r"event=migration_done node=gateway from=\d+ "
                         r"to=\d+ name=accounts_manage_scope ms=\d+ operators_granted=1")
        status, tester, _ = self.mesh.admin("gateway", "GET", "/principals/tester",
                                            headers=self.mesh.admin_headers())
        self.assertEqual(status, 200, tester)
        self.assertIn("accounts:manage", tester["scopes"])
        self.assertIn("accounts:open", tester["scopes"])
        for customer in ("alice", "bob"):
            status, p, _ = self.mesh.admin("gateway", "GET", f"/principals/{customer}",
                                           headers=self.mesh.admin_headers())
            self.assertEqual((status, p["kind"]), (200, "customer"), p)
            self.assertNotIn("accounts:manage", p["scopes"])
        # A customer's PATCH: 403 before any account is asked, nothing changes.
        status, body, _ = self.mesh.request("PATCH", "/api/accounts/alice", {"status": "closed"},
                                            key=self.owner_key("alice"))
        self.assertEqual(status, 403, body)
        status, alice = self.mesh.get("/api/accounts/alice")
        self.assertEqual(status, 200, alice)
        self.assertEqual((alice["status"], alice["overdraft_limit"]), ("active", 0), alice)
        self.assertEqual(alice["name"], old["accounts"]["alice"]["name"])
        status, cur = self.mesh.get("/api/currencies", key=self.owner_key("alice"))
        self.assertEqual(status, 200, cur)
        self.assertIn({"code": "JPY", "exponent": 0, "name": "Yen"}, cur["currencies"])


if __name__ == "__main__":
    unittest.main()
