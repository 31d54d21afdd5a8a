"""The deployment's promises, checked without a container engine (issue 19):
deploy/make-mesh-keys.sh makes the mesh's CURVE keys and the admin token once
and keeps them, and docker-compose.yml (as `docker-compose config` resolves
it) publishes only the gateway's HTTPS port, keeps the node links and admin
ports on the internal network, and hands each node only its own secret key;
and the three real nodes work with the keys laid out as compose mounts them.

Run: python3 -m unittest test_deploy (from this directory, LEDGER_BUILD_DIR
pointing at the build).
"""
import ipaddress
import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest
from urllib.parse import urlparse

from mesh import NODES, MeshTest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.abspath(os.environ.get("LEDGER_BUILD_DIR", os.path.join(ROOT, "build")))
KEYS_TOOL = os.path.join(BUILD, "tools", "keys", "ledger-keys")
HTTPS_PORT = 8443


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


class DeployCopy:
    """A temp copy of the compose file and deploy/make-mesh-keys.sh, so the scripts write
    their keys and token there, never into the repository."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="ledger-deploy-")
        os.makedirs(os.path.join(self.root, "deploy"))
        shutil.copy(os.path.join(ROOT, "docker-compose.yml"), self.root)
        shutil.copy(os.path.join(ROOT, "deploy", "make-mesh-keys.sh"),
                    os.path.join(self.root, "deploy"))
        self.keys = os.path.join(self.root, "deploy", "keys")
        self.token = os.path.join(self.root, "deploy", "admin_token")

    def make_mesh_keys(self):
        env = dict(os.environ, LEDGER_KEYS_TOOL=KEYS_TOOL)
        r = subprocess.run([os.path.join(self.root, "deploy", "make-mesh-keys.sh")], env=env,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, f"make-mesh-keys.sh: {r.stdout}{r.stderr}"
        return r.stdout

    def close(self):
        shutil.rmtree(self.root, ignore_errors=True)


class MakeMeshKeysTest(unittest.TestCase):
    def setUp(self):
        self.deploy = DeployCopy()
        self.addCleanup(self.deploy.close)

    def test_makes_private_keys_and_a_token_that_pass_the_nodes_checks(self):
        self.deploy.make_mesh_keys()
        keys = self.deploy.keys
        for name in NODES + ("harness",):
            self.assertEqual(mode(os.path.join(keys, f"{name}.key")), 0o600, name)
            self.assertTrue(os.path.isfile(os.path.join(keys, "public", f"{name}.pub")), name)
        self.assertEqual(mode(keys), 0o700)
        self.assertEqual(mode(self.deploy.token), 0o600)
        self.assertRegex(read_bytes(self.deploy.token).decode(), r"^[0-9a-f]{64}\n$")
        r = subprocess.run([KEYS_TOOL, "check", "--dir", keys], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # The default allow-lists, and the harness allowed nowhere.
        allowed = {n: sorted(os.listdir(os.path.join(keys, "allow", n))) for n in NODES}
        self.assertEqual(allowed, {"gateway": ["accounts.pub", "fraud.pub"],
                                   "accounts": ["fraud.pub", "gateway.pub"],
                                   "fraud": ["accounts.pub"]})

    def test_running_it_again_keeps_every_key_and_the_token(self):
        self.deploy.make_mesh_keys()
        keys = self.deploy.keys
        files = [self.deploy.token] + [os.path.join(keys, f"{n}.key") for n in NODES + ("harness",)]
        before = {f: read_bytes(f) for f in files}
        out = self.deploy.make_mesh_keys()
        self.assertIn("exists; kept", out)
        self.assertEqual({f: read_bytes(f) for f in files}, before)


@unittest.skipUnless(shutil.which("docker-compose"), "docker-compose not installed")
class ComposeTest(unittest.TestCase):
    """docker-compose.yml as the engine would read it, with the real key files in place."""

    @classmethod
    def setUpClass(cls):
        import yaml  # python3-yaml comes with Debian's docker-compose
        cls.deploy = DeployCopy()
        cls.deploy.make_mesh_keys()
        tls = os.path.join(cls.deploy.root, "deploy", "tls")
        os.makedirs(tls)
        for name in ("tls.crt", "tls.key"):
            with open(os.path.join(tls, name), "w") as f:
                f.write("placeholder: config does not read it\n")
        r = subprocess.run(["docker-compose", "-f", "docker-compose.yml", "config"],
                           cwd=cls.deploy.root, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        cls.config = yaml.safe_load(r.stdout)
        cls.services = cls.config["services"]

    @classmethod
    def tearDownClass(cls):
        cls.deploy.close()

    def test_only_the_gateways_https_port_is_published(self):
        published = {name: svc.get("ports", []) for name, svc in self.services.items()}
        self.assertEqual(published["accounts"], [])
        self.assertEqual(published["fraud"], [])
        self.assertEqual([(p["published"], p["target"]) for p in published["gateway"]],
                         [(HTTPS_PORT, HTTPS_PORT)])

    def test_node_links_run_on_the_internal_network_only(self):
        networks = self.config["networks"]
        self.assertIs(networks["mesh"].get("internal"), True)
        self.assertFalse(networks["edge"].get("internal", False))
        self.assertEqual(set(self.services["accounts"]["networks"]), {"mesh"})
        self.assertEqual(set(self.services["fraud"]["networks"]), {"mesh"})
        self.assertEqual(set(self.services["gateway"]["networks"]), {"mesh", "edge"})

    def test_the_gateway_binds_links_and_admin_to_its_mesh_address(self):
        gateway = self.services["gateway"]
        address = gateway["networks"]["mesh"]["ipv4_address"]
        subnet = ipaddress.ip_network(self.config["networks"]["mesh"]["ipam"]["config"][0]["subnet"])
        self.assertIn(ipaddress.ip_address(address), subnet)
        env = gateway["environment"]
        for var in ("LEDGER_INBOX", "LEDGER_FEED"):
            self.assertEqual(urlparse(env[var]).hostname, address, var)
        self.assertEqual(env["LEDGER_ADMIN_HOST"], address)

    def test_each_node_gets_only_its_own_secret_key_and_the_admin_token(self):
        for node in NODES:
            svc = self.services[node]
            secrets = {s["source"] for s in svc["secrets"]}
            extra = {"gateway_tls_cert", "gateway_tls_key"} if node == "gateway" else set()
            self.assertEqual(secrets, {f"{node}_key", "admin_token"} | extra, node)
            env = svc["environment"]
            self.assertEqual(env["LEDGER_NODE_KEY"], f"/run/secrets/{node}_key", node)
            self.assertEqual(env["LEDGER_KEYS_DIR"], "/keys", node)
            self.assertEqual(env["LEDGER_ADMIN_TOKEN_FILE"], "/run/secrets/admin_token", node)
            self.assertNotIn("LEDGER_INSECURE_PLAINTEXT", env, node)
            self.assertEqual(self.config["secrets"][f"{node}_key"]["file"],
                             os.path.join(self.deploy.keys, f"{node}.key"), node)

    def test_each_node_mounts_the_public_keys_and_its_own_allow_list_read_only(self):
        for node in NODES:
            mounts = [v for v in self.services[node]["volumes"] if ":/keys" in v]
            self.assertEqual(sorted(mounts), sorted([
                f"{self.deploy.keys}/allow/{node}:/keys/allow/{node}:ro",
                f"{self.deploy.keys}/public:/keys/public:ro"]), node)

    def test_no_secret_goes_into_git_or_an_image(self):
        with open(os.path.join(ROOT, ".dockerignore")) as f:
            dockerignore = set(re.findall(r"^\S+$", f.read(), re.M))
        self.assertTrue({"deploy/keys/", "deploy/admin_token", "deploy/tls/"} <= dockerignore)
        with open(os.path.join(ROOT, ".gitignore")) as f:
            gitignore = set(f.read().split())
        self.assertTrue({"/deploy/keys/", "/deploy/admin_token", "/deploy/tls/"} <= gitignore)


class ComposeKeyLayoutTest(MeshTest):
    """The keys as a container sees them (docker-compose.yml): LEDGER_KEYS_DIR holds only
    public/ and the node's own allow/<node>/ (read-only mounts), and the node's secret key is
    elsewhere (the secret /run/secrets/<node>_key, LEDGER_NODE_KEY). No node can read another's
    secret key, and the mesh settles a transfer over CURVE."""

    start_mesh = False

    def setUp(self):
        keys = self.mesh.keys_dir
        secrets = os.path.join(self.mesh.tmp, "run-secrets")
        os.makedirs(secrets, mode=0o700)
        env = {}
        for node in NODES:
            view = os.path.join(self.mesh.tmp, f"{node}-keys")  # the container's /keys
            os.makedirs(view, mode=0o700)
            shutil.copytree(os.path.join(keys, "public"), os.path.join(view, "public"))
            shutil.copytree(os.path.join(keys, "allow", node), os.path.join(view, "allow", node))
            secret = os.path.join(secrets, f"{node}_key")
            shutil.copyfile(os.path.join(keys, f"{node}.key"), secret)
            os.chmod(secret, 0o600)
            env[node] = {"LEDGER_KEYS_DIR": view, "LEDGER_NODE_KEY": secret}
        self.mesh.extra_env = env
        self.mesh.start_all()

    def test_the_mesh_settles_a_transfer_with_each_node_holding_only_its_own_key(self):
        if not any(name == "ledger_insecure_plaintext" for name, _ in self.mesh.metrics("gateway")):
            self.skipTest("these nodes do not speak CURVE yet (no ledger_insecure_plaintext)")
        for node in NODES:
            self.assertEqual(os.listdir(os.path.join(self.mesh.tmp, f"{node}-keys", "allow")), [node])
            plain = [v for (name, _), v in self.mesh.metrics(node).items()
                     if name == "ledger_insecure_plaintext"]
            self.assertEqual(plain, [0], node)
        status, t = self.mesh.transfer("alice", "bob", 1250)
        self.assertEqual(status, 202, t)
        self.assertEqual(self.mesh.wait_final(t["id"])["status"], "settled")


if __name__ == "__main__":
    unittest.main()
