"""Backups, the restore drill and reconciliation (tools/backup, tools/reconcile).

ledger-backup copies the three nodes while they serve, verifies each copy and
writes a manifest; a restore puts one node back from its backup. What the node
had done after the backup is then gone, and ledger-reconcile names it: the
transfers the accounts node settled after the backup are final at the gateway
(and decided at fraud) but unknown to the restored accounts node, and a transfer
it had reserved before the backup and settled after it is held there again."""
import json
import os
import re
import shutil
import subprocess
import threading

from mesh import MeshTest, wait_until

CUSTOMERS = ["alice", "bob", "carol", "dave"]
RULES = ("velocity_max_count = 0\n"        # the velocity and new-payee rules off: every
         "velocity_max_sum_minor = 0\n"    # transfer here settles
         "new_payee_limit_minor = 0\n")


class BackupTest(MeshTest):
    mesh_options = {"fraud_rules": RULES, "log_level": "warn"}

    def tool(self, name, *args, timeout=120):
        sub = "backup" if name == "ledger-backup" else "reconcile"
        binary = os.path.join(self.mesh.build_dir, "tools", sub, name)
        return subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout)

    @property
    def data_root(self):
        return os.path.join(self.mesh.tmp, "data")

    def settle(self, n, prefix):
        """n small transfers between the customers, each waited on to a final status; their ids."""
        ids = []
        for i in range(n):
            src, dst = CUSTOMERS[i % 4], CUSTOMERS[(i + 1) % 4]
            status, payload = self.mesh.transfer(src, dst, 10 + i, key=f"{prefix}-{i}")
            self.assertEqual(status, 202, payload)
            ids.append(payload["id"])
        for tid in ids:
            self.assertEqual(self.mesh.wait_final(tid)["status"], "settled")
        return ids

    def backup_under_load(self, out):
        """ledger-backup create --all while a client keeps sending; (result, ids sent meanwhile)."""
        sent, stop = [], threading.Event()

        def client():
            i = 0
            while not stop.is_set():
                status, payload = self.mesh.transfer("carol", "dave", 1, key=f"during-{i}")
                if status == 202:
                    sent.append(payload["id"])
                i += 1

        sender = threading.Thread(target=client)
        sender.start()
        wait_until(lambda: len(sent) >= 5, what="transfers under way before the backup")
        result = self.tool("ledger-backup", "create", "--all", "--data-root", self.data_root,
                           "--out", out)
        stop.set()
        sender.join(timeout=30)
        return result, sent

    def restore_refusals(self, restore_args, gateway_peer, data_dir):
        """A restore without every peer is refused as usage (exit 2) and writes nothing: the node
        has one message seq for all its peers, and the one left out may have seen more."""
        partial = self.tool("ledger-backup", *restore_args, "--peer-data", gateway_peer)
        self.assertEqual(partial.returncode, 2, partial.stdout + partial.stderr)
        self.assertIn("--peer-data fraud=DIR is missing", partial.stderr)
        # Even with a number: a peer list, when given, is every peer.
        partial = self.tool("ledger-backup", *restore_args, "--peer-data", gateway_peer,
                            "--msg-seq-at-least", "1")
        self.assertEqual(partial.returncode, 2, partial.stdout + partial.stderr)
        unnamed = self.tool("ledger-backup", *restore_args,
                            "--peer-data", gateway_peer.split("=", 1)[1])
        self.assertEqual(unnamed.returncode, 2, unnamed.stdout + unnamed.stderr)
        self.assertIn("--peer-data takes NAME=DIR", unnamed.stderr)
        itself = self.tool("ledger-backup", *restore_args, "--peer-data", gateway_peer,
                           "--peer-data", "accounts=" + data_dir)
        self.assertEqual(itself.returncode, 2, itself.stdout + itself.stderr)
        self.assertIn("not a peer of accounts", itself.stderr)
        self.assertFalse(os.path.exists(data_dir), "a refused restore wrote nothing")

    def restore_killed_before_the_raise(self, args, data_dir):
        """kill -9 between the copy and the raise: the data directory has no data.mdb a node
        could start from with the backup's message seq (only a staging directory it ignores)."""
        binary = os.path.join(self.mesh.build_dir, "tools", "backup", "ledger-backup")
        env = dict(os.environ, LEDGER_TEST_RESTORE_PAUSE_MS="60000")
        proc = subprocess.Popen([binary, *args], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, env=env)
        guard = threading.Timer(60, proc.kill)  # a tool that never pauses fails the test below
        guard.start()
        try:
            line = proc.stderr.readline()
            self.assertTrue(line.startswith("restore_test_pause"), line)
            proc.kill()
            proc.wait(timeout=30)
        finally:
            guard.cancel()
            proc.stderr.close()
        self.assertFalse(os.path.exists(os.path.join(data_dir, "data.mdb")),
                         "a restore killed before its raise left a startable store")
        self.assertTrue(any(name.startswith(".restore.") for name in os.listdir(data_dir)),
                        os.listdir(data_dir))

    def test_backup_of_all_nodes_while_serving_is_verified_and_described(self):
        self.settle(6, "before")
        out = os.path.join(self.mesh.tmp, "backup")
        result, sent = self.backup_under_load(out)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        for node in ("gateway", "accounts", "fraud"):
            self.assertRegex(result.stdout, rf"backup {node}: ok in \d+ ms")
            with open(os.path.join(out, node, "manifest.json")) as f:
                manifest = json.load(f)
            self.assertEqual(manifest["node"], node)
            self.assertEqual(manifest["size_bytes"],
                             os.path.getsize(os.path.join(out, node, "data.mdb")))
            self.assertRegex(manifest["sha256"], r"^[0-9a-f]{64}$")
            self.assertGreater(manifest["msg_seq"], 0)
            self.assertFalse(os.path.exists(os.path.join(out, node, "lock.mdb")))
        with open(os.path.join(out, "accounts", "manifest.json")) as f:
            accounts = json.load(f)
        # Every settled transfer wrote three entries (hold, debit, credit): 6 + the funding.
        self.assertGreaterEqual(accounts["ledger"]["entries"], 3 * 6)
        self.assertRegex(accounts["ledger"]["head_hash"], r"^[0-9a-f]{64}$")
        self.assertGreaterEqual(accounts["records"]["transfers"], 6)
        self.assertIn("gateway", accounts["seen_high"])
        for tid in sent:
            self.mesh.wait_final(tid)

        verify = self.tool("ledger-backup", "verify", "--dir", os.path.join(out, "accounts"))
        self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)
        # The same backup again into the same place: refused, nothing overwritten.
        again = self.tool("ledger-backup", "create", "--node", "fraud", "--data",
                          os.path.join(self.data_root, "fraud"), "--out", out)
        self.assertEqual(again.returncode, 1, again.stdout + again.stderr)
        # One byte of the copy changed: verify fails on its sha256.
        path = os.path.join(out, "fraud", "data.mdb")
        with open(path, "r+b") as f:
            f.seek(100)
            byte = f.read(1)
            f.seek(100)
            f.write(bytes([byte[0] ^ 0xFF]))
        bad = self.tool("ledger-backup", "verify", "--dir", os.path.join(out, "fraud"))
        self.assertEqual(bad.returncode, 1, bad.stdout + bad.stderr)
        self.assertIn("does not match its manifest", bad.stderr)
        self.assertEqual(self.tool("ledger-backup", "create", "--all").returncode, 2)

        # A message in fraud's outbox that does not decode: reconcile names it and goes on
        # (exit 1), a backup of that node fails its check (exit 1).
        self.mesh.stop("fraud")
        planter = os.path.join(self.mesh.build_dir, "tests", "integration", "outbox_put")
        planted = subprocess.run([planter, os.path.join(self.data_root, "fraud"), "accounts", "-"],
                                 input=b"\xc1 not msgpack", capture_output=True, timeout=30)
        self.assertEqual(planted.returncode, 0, planted.stderr)
        rec = self.tool("ledger-reconcile", "--data-root", self.data_root)
        self.assertEqual(rec.returncode, 1, rec.stdout + rec.stderr)
        self.assertIn("disagree messages fraud messages_do_not_decode: 1\n", rec.stdout)
        self.assertRegex(rec.stdout, r"summary transfers=\d+ agree=\d+ in_flight=0 disagree=1\n$")
        poisoned = self.tool("ledger-backup", "create", "--node", "fraud", "--data",
                             os.path.join(self.data_root, "fraud"),
                             "--out", os.path.join(self.mesh.tmp, "backup2"))
        self.assertEqual(poisoned.returncode, 1, poisoned.stdout + poisoned.stderr)
        self.assertIn("does not decode", poisoned.stderr)
        self.assertEqual(self.tool("ledger-reconcile", "--data-root",
                                   os.path.join(self.mesh.tmp, "nowhere")).returncode, 2)

    def test_restore_drill_loses_what_accounts_did_after_the_backup_and_reconcile_names_it(self):
        self.settle(4, "before")
        # One transfer is reserved at accounts when the backup is taken and decided after it:
        # fraud is down until the backup is done.
        self.mesh.stop("fraud")
        status, held = self.mesh.transfer("alice", "bob", 33, key="reserved-at-backup")
        self.assertEqual(status, 202, held)
        wait_until(lambda: "funds.reserved" in [
            step["step"] for step in self.mesh.transfer_status(held["id"])["timeline"]],
            what="accounts to hold the money")
        out = os.path.join(self.mesh.tmp, "backup")
        result, during = self.backup_under_load(out)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.mesh.start("fraud")
        for tid in during + [held["id"]]:
            self.assertEqual(self.mesh.wait_final(tid, timeout=30)["status"], "settled")
        after = self.settle(5, "after")
        self.mesh.wait_outboxes_empty()

        self.mesh.stop("accounts")
        accounts_dir = os.path.join(self.data_root, "accounts")
        shutil.move(accounts_dir, accounts_dir + ".lost")
        restore_args = ["restore", "--from", os.path.join(out, "accounts"),
                        "--data", accounts_dir, "--node", "accounts"]
        gateway_peer = "gateway=" + os.path.join(self.data_root, "gateway")
        fraud_peer = "fraud=" + os.path.join(self.data_root, "fraud")
        self.restore_refusals(restore_args, gateway_peer, accounts_dir)
        self.restore_killed_before_the_raise(restore_args + ["--peer-data", gateway_peer,
                                                             "--peer-data", fraud_peer],
                                             accounts_dir)
        restore = self.tool("ledger-backup", *restore_args,
                            "--peer-data", gateway_peer, "--peer-data", fraud_peer)
        self.assertEqual(restore.returncode, 0, restore.stdout + restore.stderr)
        self.assertTrue(os.path.exists(os.path.join(accounts_dir, "data.mdb")))
        raised = re.search(r"msg seq (\d+) in the backup, peers had seen up to (\d+), now (\d+)",
                           restore.stdout)
        self.assertIsNotNone(raised, restore.stdout)
        in_backup, peers_high, now = (int(g) for g in raised.groups())
        self.assertGreater(peers_high, in_backup, "accounts sent messages after the backup")
        self.assertEqual(now, peers_high)
        # A second restore over the restored data is refused (move it aside first).
        again = self.tool("ledger-backup", "restore", "--from", os.path.join(out, "accounts"),
                          "--data", accounts_dir, "--node", "accounts", "--msg-seq-at-least", "1")
        self.assertEqual(again.returncode, 1)
        self.assertIn("move its data directory aside", again.stderr)

        self.mesh.start("accounts")
        wait_until(lambda: self.mesh.admin("accounts", "GET", "/health")[0] == 200,
                   what="the restored accounts node to answer")
        status, verify, _ = self.mesh.admin("accounts", "GET", "/ledger/verify")
        self.assertTrue(verify["ok"], verify)
        # New work flows: the restored node's new message ids are past what its peers saw
        # (without the raise, fraud would drop its funds.reserved as duplicates: stuck pending).
        status, payload = self.mesh.transfer("bob", "alice", 7, key="after-restore")
        self.assertEqual(status, 202, payload)
        self.assertEqual(self.mesh.wait_final(payload["id"], timeout=30)["status"], "settled")

        rec = self.tool("ledger-reconcile", "--data-root", self.data_root, "--settle-wait", "20")
        self.assertEqual(rec.returncode, 1, rec.stdout + rec.stderr)
        lost = set(re.findall(r"^disagree transfer (\S+) final_at_gateway_unknown_at_accounts: "
                              r"gateway=settled accounts=none fraud=approved", rec.stdout, re.M))
        # Every transfer made after the backup is gone from accounts; some made during it may be
        # too (those the copy's snapshot missed); nothing from before it.
        self.assertTrue(set(after) <= lost, rec.stdout)
        self.assertTrue(lost <= set(after) | set(during), rec.stdout)
        self.assertNotIn(payload["id"], rec.stdout)
        # The verdict for the transfer reserved at the backup was acked before the restore and
        # is gone: accounts still holds its money while the gateway shows it settled.
        self.assertRegex(rec.stdout, rf"(?m)^disagree transfer {held['id']} held_for_final_transfer: "
                                     r"gateway=settled accounts=reserved fraud=approved$")
        self.assertRegex(rec.stdout, r"summary transfers=\d+ agree=\d+ in_flight=0 disagree=\d+")
