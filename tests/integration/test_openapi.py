"""GET /api/openapi.yaml through the real gateway binary: the bytes of the
repository's openapi.yaml, embedded at build time, for any authenticated
principal and no one else.

The lint of the file and the check of real answers against its schemas need
npm packages (tests/e2e: ctest openapi_lint and openapi_schema, label e2e);
this test needs only the binaries.
"""
import os
import unittest
import urllib.error
import urllib.request

from mesh import MeshTest

SPEC = os.path.join(os.path.dirname(__file__), "..", "..", "openapi.yaml")


class OpenApiRouteTest(MeshTest):
    mesh_options = {"demo": False}

    def fetch(self, method="GET", key=None):
        """(status, headers, raw body) of /api/openapi.yaml with `key` (None: no header)."""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        req = urllib.request.Request(f"http://127.0.0.1:{self.mesh.http_port}/api/openapi.yaml",
                                     method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def test_served_bytes_are_the_repository_file(self):
        with open(SPEC, "rb") as f:
            expected = f.read()
        status, headers, body = self.fetch(key=self.mesh.key)
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "application/yaml")
        self.assertEqual(int(headers["Content-Length"]), len(expected))
        self.assertEqual(body, expected, "the gateway serves another text: rebuild it")

    def test_any_principal_reads_it_without_a_scope(self):
        key = self.mesh.principal("reader", scopes=[])
        status, _, body = self.fetch(key=key)
        self.assertEqual(status, 200)
        self.assertTrue(body.startswith(b"openapi: 3.1"), body[:40])
        # The same key is refused where a scope is needed: it is no operator in disguise.
        self.assertEqual(self.mesh.get("/api/accounts", key=key)[0], 403)

    def test_without_a_valid_key_it_is_401(self):
        for key in (None, "lk_0000000000000000_not-a-key"):
            status, headers, body = self.fetch(key=key)
            self.assertEqual(status, 401, key)
            self.assertEqual(headers["WWW-Authenticate"], "Bearer")
            self.assertNotIn(b"openapi", body)

    def test_a_revoked_key_is_401(self):
        key = self.mesh.principal("leaver", scopes=[])
        self.assertEqual(self.fetch(key=key)[0], 200)
        self.mesh.revoke("leaver", key)
        self.assertEqual(self.fetch(key=key)[0], 401)

    def test_head_has_the_headers_and_no_body(self):
        status, headers, body = self.fetch("HEAD", key=self.mesh.key)
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "application/yaml")
        self.assertEqual(body, b"")

    def test_other_methods_are_405_with_allow(self):
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            status, payload, headers = self.mesh.request(method, "/api/openapi.yaml", body={})
            self.assertEqual(status, 405, method)
            self.assertEqual(payload["error"]["code"], "method_not_allowed")
            self.assertEqual(headers["Allow"], "GET, HEAD")


if __name__ == "__main__":
    unittest.main()
