"""HTTPS on the gateway's public port, through the real ledger-gateway binary.

A test CA and a server certificate for localhost/127.0.0.1 are made at test
time with the openssl CLI in the mesh's temporary directory. The gateway is
started alone (the routes used here need no peer): the web root `/` from a
temporary web dir, and an unknown /api path whose JSON error (404 today, 401
once /api needs a key) is only there to show a request crossed TLS.

Also: TLS 1.0 and 1.1 are refused while this client can speak them (checked
against a Python TLS 1.1 server first, so the refusal is the gateway's);
plain HTTP to the TLS port gets no HTTP answer; a non-loopback listen
address without a certificate refuses to start (and writes nothing), and
with --insecure-http starts with a warning and the metrics gauge at 1.
"""
import os
import socket
import ssl
import subprocess
import threading
import unittest
import urllib.error
import urllib.request

from mesh import MeshTest, wait_until

MARKER = "ledger-tls-test-page"


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_certificates(directory):
    """ca.crt (a test CA) and server.crt/server.key (signed by it, for localhost and 127.0.0.1),
    plus other.key (a key that belongs to no certificate here)."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=ledger test CA",
            cwd=directory)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost", cwd=directory)
    with open(os.path.join(directory, "san.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.crt", "-days", "1", "-extfile", "san.ext",
            cwd=directory)
    openssl("genpkey", "-algorithm", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-out", "other.key", cwd=directory)


def client_context(cafile, version=None):
    """A verifying client context; `version` pins the protocol (and lowers OpenSSL's security
    level so that this client really offers TLS 1.0/1.1)."""
    ctx = ssl.create_default_context(cafile=cafile)
    if version is not None:
        ctx.set_ciphers("DEFAULT@SECLEVEL=0")
        ctx.minimum_version = version
        ctx.maximum_version = version
    return ctx


class TlsTest(MeshTest):
    start_mesh = False

    def setUp(self):
        self.dir = os.path.join(self.mesh.tmp, "tls")
        os.makedirs(self.dir)
        make_certificates(self.dir)
        self.ca = os.path.join(self.dir, "ca.crt")
        self.web = os.path.join(self.mesh.tmp, "web")
        os.makedirs(self.web)
        with open(os.path.join(self.web, "index.html"), "w") as f:
            f.write(f"<!doctype html><title>{MARKER}</title>\n")

    # --- starting the gateway alone ---------------------------------------------
    def gateway_env(self, **extra):
        env = {"LEDGER_WEB_DIR": self.web}
        env.update(extra)
        self.mesh.extra_env["gateway"] = env

    def tls_env(self, key="server.key"):
        return {"LEDGER_TLS_CERT": os.path.join(self.dir, "server.crt"),
                "LEDGER_TLS_KEY": os.path.join(self.dir, key)}

    def start_gateway(self):
        """Starts the gateway and waits until it logs that its public port listens (after its
        admin port); starts again on fresh ports if another test took one of them meanwhile."""
        def listening():
            return "event=http_listening" in self.mesh.log("gateway")

        for _ in range(3):
            self.mesh.start("gateway")
            wait_until(lambda: listening() or not self.mesh.running("gateway"), 20,
                       "the gateway to start")
            if self.mesh.running("gateway") and listening():
                return
            self.mesh.kill("gateway")
            self.mesh.pick_ports()
        self.fail("the gateway did not start:\n" + self.mesh.log("gateway"))

    def exit_code(self):
        """Starts the gateway expecting it to refuse: its exit code (within a deadline)."""
        self.mesh.start("gateway")
        return self.mesh.procs["gateway"].wait(timeout=20)

    # --- HTTPS -----------------------------------------------------------------
    def https_get(self, path, host="localhost", context=None):
        url = f"https://{host}:{self.mesh.http_port}{path}"
        ctx = context or client_context(self.ca)
        try:
            with urllib.request.urlopen(url, context=ctx, timeout=10) as resp:
                return resp.status, resp.read().decode(errors="replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")

    def handshake(self, version):
        """The protocol version the gateway agreed to with a client pinned to `version`."""
        ctx = client_context(self.ca, version)
        with socket.create_connection(("127.0.0.1", self.mesh.http_port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                return tls.version()

    def client_can_speak(self, version):
        """True when this Python/OpenSSL completes a handshake at `version` with a server that
        allows only it: then a refusal by the gateway is the gateway's, not the client's."""
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.set_ciphers("DEFAULT@SECLEVEL=0")
        server_ctx.minimum_version = version
        server_ctx.maximum_version = version
        server_ctx.load_cert_chain(os.path.join(self.dir, "server.crt"),
                                   os.path.join(self.dir, "server.key"))
        listener = socket.create_server(("127.0.0.1", 0))
        port = listener.getsockname()[1]

        def serve():
            try:
                conn, _ = listener.accept()
                with server_ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
                with client_context(self.ca, version).wrap_socket(
                        raw, server_hostname="localhost") as tls:
                    return tls.version() is not None
        except (OSError, ssl.SSLError):
            return False
        finally:
            listener.close()
            thread.join(10)

    def test_https_serves_the_web_root_with_the_test_certificate(self):
        self.gateway_env(**self.tls_env())
        self.start_gateway()
        status, body = self.https_get("/")
        self.assertEqual(status, 200)
        self.assertIn(MARKER, body)
        # by IP too (the certificate names 127.0.0.1), and an /api answer crosses TLS as JSON
        status, body = self.https_get("/api/no-such-route", host="127.0.0.1")
        self.assertIn(status, (401, 404), body)
        self.assertIn('"error"', body)
        self.assertIn("scheme=https", self.mesh.log("gateway"))
        metrics = self.mesh.metrics("gateway")
        self.assertEqual(metrics[("ledger_gateway_https", ())], 1)
        self.assertEqual(metrics[("ledger_gateway_insecure_http", ())], 0)

    def test_a_client_that_does_not_trust_the_certificate_is_stopped(self):
        self.gateway_env(**self.tls_env())
        self.start_gateway()
        with self.assertRaises(urllib.error.URLError) as caught:
            self.https_get("/", context=ssl.create_default_context())
        self.assertIsInstance(caught.exception.reason, ssl.SSLCertVerificationError)

    def test_tls_1_2_and_1_3_are_accepted(self):
        self.gateway_env(**self.tls_env())
        self.start_gateway()
        self.assertEqual(self.handshake(ssl.TLSVersion.TLSv1_2), "TLSv1.2")
        self.assertEqual(self.handshake(ssl.TLSVersion.TLSv1_3), "TLSv1.3")

    def test_tls_1_1_and_1_0_are_refused(self):
        self.gateway_env(**self.tls_env())
        self.start_gateway()
        for version in (ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1):
            with self.subTest(version=version.name):
                if not self.client_can_speak(version):
                    self.skipTest(f"this Python/OpenSSL cannot speak {version.name} at all")
                with self.assertRaises((ssl.SSLError, ConnectionError)):
                    self.handshake(version)
        # the gateway is still serving after the refused handshakes
        self.assertEqual(self.https_get("/")[0], 200)

    def test_plain_http_to_the_tls_port_gets_no_http_answer(self):
        self.gateway_env(**self.tls_env())
        self.start_gateway()
        with socket.create_connection(("127.0.0.1", self.mesh.http_port), timeout=10) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            received = b""
            try:
                while len(received) < 65536:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    received += chunk
            except ConnectionError:
                pass
        self.assertFalse(received.startswith(b"HTTP/"), received[:80])
        self.assertNotIn(MARKER.encode(), received)
        with self.assertRaises((urllib.error.URLError, ConnectionError)):
            urllib.request.urlopen(f"http://127.0.0.1:{self.mesh.http_port}/", timeout=10)

    def test_a_key_that_is_not_the_certificates_refuses_to_start(self):
        self.gateway_env(**self.tls_env(key="other.key"))
        self.assertNotEqual(self.exit_code(), 0)
        log = self.mesh.log("gateway")
        self.assertIn("event=tls_load_failed", log)
        self.assertIn("do not match", log)
        self.assertFalse(os.path.exists(os.path.join(self.mesh.tmp, "data", "gateway")))

    # --- plain HTTP off loopback -------------------------------------------------
    def test_non_loopback_listen_without_certificate_refuses_to_start(self):
        self.gateway_env(LEDGER_HTTP_HOST="0.0.0.0")
        self.assertNotEqual(self.exit_code(), 0)
        log = self.mesh.log("gateway")
        self.assertIn("level=error event=http_refused", log)
        self.assertIn("'0.0.0.0'", log)
        self.assertIn("--insecure-http", log)
        # nothing happened: no store opened, nothing listening
        self.assertFalse(os.path.exists(os.path.join(self.mesh.tmp, "data", "gateway")))
        with self.assertRaises(ConnectionError):
            socket.create_connection(("127.0.0.1", self.mesh.http_port), timeout=5).close()

    def test_insecure_http_off_loopback_starts_with_a_warning_and_a_gauge(self):
        self.gateway_env(LEDGER_HTTP_HOST="0.0.0.0", LEDGER_INSECURE_HTTP="1")
        self.start_gateway()
        log = self.mesh.log("gateway")
        self.assertIn("level=warn event=insecure_http host=0.0.0.0", log)
        self.assertIn("INSECURE", log)
        self.assertEqual(self.mesh.metrics("gateway")[("ledger_gateway_insecure_http", ())], 1)
        with urllib.request.urlopen(f"http://127.0.0.1:{self.mesh.http_port}/", timeout=10) as r:
            self.assertIn(MARKER, r.read().decode())

    def test_loopback_plain_http_needs_no_flag_and_shows_no_warning(self):
        self.gateway_env()
        self.start_gateway()
        with urllib.request.urlopen(f"http://127.0.0.1:{self.mesh.http_port}/", timeout=10) as r:
            self.assertIn(MARKER, r.read().decode())
        self.assertNotIn("insecure_http", self.mesh.log("gateway"))
        metrics = self.mesh.metrics("gateway")
        self.assertEqual(metrics[("ledger_gateway_insecure_http", ())], 0)
        self.assertEqual(metrics[("ledger_gateway_https", ())], 0)


if __name__ == "__main__":
    unittest.main()
