"""ledger-keys, the real binary, on a temporary directory (no nodes: they do not
use the keys yet). init and its refusal to overwrite, the layout's modes, check
(and its refusal of a secret key open to others, naming the chmod fix), allow
and deny seen by list, usage errors, and the files read by pyzmq's
zmq.auth.load_certificate, then used for a CURVE handshake with a ROUTER that
requires the client key on an allow-list (pyzmq's thread authenticator asking
AllowDir, which reads allow/accounts): the gateway's key is let in, the harness key is not until
`ledger-keys allow harness --to accounts`.
"""
import os
import stat
import subprocess
import tempfile
import unittest

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

SILENCE_MS = 1000
DELIVERY_MS = 5000


def tool_path():
    build = os.environ.get("LEDGER_BUILD_DIR", "../../build")
    return os.path.abspath(os.path.join(build, "tools", "keys", "ledger-keys"))


class AllowDir:
    """A pyzmq credentials provider over an allow dir, read on each handshake as zauth
    does. (pyzmq's own configure_curve(location=) loads only files named *.key, so it
    would see none of our .pub files: the nodes use czmq's zauth, which loads them all.)"""

    def __init__(self, directory):
        self.directory = directory

    def callback(self, domain, key):
        keys = set()
        for name in os.listdir(self.directory):
            if not name.startswith("."):
                keys.add(zmq.auth.load_certificate(os.path.join(self.directory, name))[0])
        return key in keys  # pyzmq passes the client key in Z85 already


class KeysToolTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="ledger_keys_tool.")
        self.dir = os.path.join(self.tmp.name, "keys")

    def tearDown(self):
        self.tmp.cleanup()

    def run_tool(self, *args):
        env = dict(os.environ)
        env.pop("LEDGER_KEYS_DIR", None)
        return subprocess.run([tool_path(), *args], capture_output=True, text=True, timeout=30,
                              env=env, cwd=self.tmp.name)

    def read(self, *parts):
        with open(os.path.join(self.dir, *parts)) as f:
            return f.read()

    def mode(self, *parts):
        return stat.S_IMODE(os.stat(os.path.join(self.dir, *parts)).st_mode)

    def test_init_makes_the_layout_once(self):
        r = self.run_tool("init", "--dir", self.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.mode(), 0o700)
        for name in ("gateway", "accounts", "fraud", "harness"):
            self.assertEqual(self.mode(name + ".key"), 0o600)
            self.assertEqual(self.mode("public", name + ".pub"), 0o644)
        self.assertEqual(sorted(os.listdir(os.path.join(self.dir, "allow"))),
                         ["accounts", "fraud", "gateway"])
        self.assertEqual(sorted(os.listdir(os.path.join(self.dir, "allow", "accounts"))),
                         ["fraud.pub", "gateway.pub"])
        self.assertEqual(os.listdir(os.path.join(self.dir, "allow", "fraud")), ["accounts.pub"])
        before = self.read("gateway.key")
        r = self.run_tool("init", "--dir", self.dir)
        self.assertEqual(r.returncode, 1)
        self.assertIn("already exists", r.stderr)
        self.assertEqual(self.run_tool("init", "--dir", self.dir, "--if-missing").returncode, 0)
        self.assertEqual(self.read("gateway.key"), before)
        self.assertFalse([n for n in os.listdir(self.tmp.name) if n.startswith(".keys-")])

    def test_default_dir_is_data_keys_of_the_cwd(self):
        self.assertEqual(self.run_tool("init").returncode, 0)
        self.assertTrue(os.path.isfile(os.path.join(self.tmp.name, "data", "keys", "fraud.key")))

    def test_check_refuses_a_secret_key_open_to_others(self):
        self.assertEqual(self.run_tool("init", "--dir", self.dir).returncode, 0)
        r = self.run_tool("check", "--dir", self.dir)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("ok   accounts", r.stdout)
        key = os.path.join(self.dir, "accounts.key")
        os.chmod(key, 0o644)
        r = self.run_tool("check", "--dir", self.dir)
        self.assertEqual(r.returncode, 1)
        self.assertIn("FAIL accounts", r.stdout)
        self.assertIn("chmod 600 " + key, r.stdout)
        self.assertEqual(self.run_tool("check", "--dir", self.dir, "--node", "fraud").returncode,
                         0)
        os.chmod(key, 0o600)
        self.assertEqual(self.run_tool("check", "--dir", self.dir).returncode, 0)
        self.assertEqual(self.run_tool("check", "--dir", self.dir + "-missing").returncode, 1)

    def allowed_at(self, name):
        r = self.run_tool("list", "--dir", self.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        line = [ln for ln in r.stdout.splitlines() if ln.startswith(name + " ")][0]
        return line.split("allowed-at=")[1]

    def test_allow_and_deny_show_in_list(self):
        self.assertEqual(self.run_tool("init", "--dir", self.dir).returncode, 0)
        self.assertEqual(self.allowed_at("harness"), "(nowhere)")
        self.assertEqual(self.allowed_at("gateway"), "accounts")
        r = self.run_tool("allow", "harness", "--to", "gateway", "accounts", "--dir", self.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.allowed_at("harness"), "accounts,gateway")
        self.assertEqual(self.mode("allow", "gateway", "harness.pub"), 0o644)
        self.assertEqual(self.run_tool("deny", "harness", "--to", "gateway", "--dir",
                                       self.dir).returncode, 0)
        self.assertEqual(self.allowed_at("harness"), "accounts")
        r = self.run_tool("deny", "harness", "--to", "fraud", "--dir", self.dir)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not on the allow-list", r.stderr)
        self.assertEqual(self.run_tool("allow", "mallory", "--to", "fraud", "--dir",
                                       self.dir).returncode, 1)

    def test_usage_errors_exit_2(self):
        for args in ([], ["bogus"], ["allow", "harness"], ["deny", "--to", "fraud"],
                     ["allow", "harness", "--to", "../x"], ["init", "--frobnicate"]):
            r = self.run_tool(*args)
            self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
            self.assertIn("usage:", r.stderr)
        self.assertEqual(self.run_tool("--help").returncode, 0)

    def receives(self, router, timeout_ms):
        return router.poll(timeout_ms) != 0 and router.recv_multipart()

    def test_keys_authenticate_a_curve_handshake_in_pyzmq(self):
        self.assertEqual(self.run_tool("init", "--dir", self.dir).returncode, 0)
        ctx = zmq.Context()
        auth = ThreadAuthenticator(ctx)
        auth.start()
        try:
            auth.configure_curve_callback(domain="*", credentials_provider=AllowDir(
                os.path.join(self.dir, "allow", "accounts")))
            server_public, server_secret = zmq.auth.load_certificate(
                os.path.join(self.dir, "accounts.key"))
            router = ctx.socket(zmq.ROUTER)
            router.curve_publickey, router.curve_secretkey = server_public, server_secret
            router.curve_server = True
            port = router.bind_to_random_port("tcp://127.0.0.1")

            def client(name, text):
                public, secret = zmq.auth.load_certificate(os.path.join(self.dir, name + ".key"))
                dealer = ctx.socket(zmq.DEALER)
                dealer.linger = 0
                dealer.curve_publickey, dealer.curve_secretkey = public, secret
                dealer.curve_serverkey = server_public
                dealer.connect("tcp://127.0.0.1:%d" % port)
                dealer.send(text)
                return dealer, public

            harness, _ = client("harness", b"from-harness")
            self.assertFalse(self.receives(router, SILENCE_MS))
            gateway, gateway_public = client("gateway", b"from-gateway")
            self.assertTrue(router.poll(DELIVERY_MS))
            frames = router.recv_multipart(copy=False)
            self.assertEqual(frames[1].bytes, b"from-gateway")
            self.assertEqual(frames[1].get("User-Id").encode(), gateway_public)
            self.assertEqual(self.run_tool("allow", "harness", "--to", "accounts", "--dir",
                                           self.dir).returncode, 0)
            harness.close()
            harness, _ = client("harness", b"harness-allowed")
            self.assertTrue(router.poll(DELIVERY_MS))
            self.assertEqual(router.recv_multipart()[1], b"harness-allowed")
        finally:
            auth.stop()
            ctx.destroy(linger=0)


if __name__ == "__main__":
    unittest.main()
