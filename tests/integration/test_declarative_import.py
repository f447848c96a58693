"""`kongpy config db_import` into a running node's datastore: the proxy serves it
without a restart (the import appends cluster events the node's sync loop sees)."""
from __future__ import annotations

import requests


def test_db_import_is_served_by_a_running_node(node, echo, tmp_path):
    before = requests.get(node.proxy + "/decl", timeout=10)
    assert before.status_code == 404
    config = tmp_path / "kong.yml"
    config.write_text(f"""_format_version: "3.0"
services:
- name: decl-svc
  url: {echo.url}
  routes:
  - name: decl-route
    paths: ["/decl"]
    plugins:
    - name: key-auth
consumers:
- username: alice
  keyauth_credentials:
  - key: alice-key
""")
    out = node.cli("config", "db_import", str(config), "-c", str(node.conf_path))
    assert out.stdout == "parse successful, beginning import\nimport successful\n"
    node.wait_sync()
    denied = requests.get(node.proxy + "/decl", timeout=10)
    assert denied.status_code == 401
    assert denied.json()["message"] == "No API key found in request"
    served = requests.get(node.proxy + "/decl/x", headers={"apikey": "alice-key"}, timeout=10)
    assert served.status_code == 200
    assert served.json()["name"] == "echo"
    assert served.json()["headers"]["x-consumer-username"] == "alice"
    node.assert_clean_error_log()
