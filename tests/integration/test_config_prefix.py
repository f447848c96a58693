"""`kongpy config ... -p PREFIX`, as Kong's `kong config ... -p`: the command
reads the configuration the node of the prefix was started with, so a node
whose datastore is not the default one is reached without its conf file."""
from __future__ import annotations

import requests


def test_db_import_and_export_with_only_the_prefix_reach_the_nodes_datastore(
        start_node, tmp_path):
    node = start_node(workers=1, sqlite_path="elsewhere.db")
    config = tmp_path / "kong.yml"
    config.write_text('_format_version: "3.0"\nservices:\n'
                      '- name: by-prefix\n  url: http://127.0.0.1:9/\n')
    out = node.cli("config", "db_import", str(config), "-p", str(node.prefix))
    assert out.stdout == "parse successful, beginning import\nimport successful\n"
    found = requests.get(node.admin + "/services/by-prefix", timeout=10)
    assert found.status_code == 200, found.text
    assert not (node.prefix / "kongpy.db").exists()
    exported = node.cli("config", "db_export", "-", "-p", str(node.prefix)).stdout
    assert "name: by-prefix" in exported
