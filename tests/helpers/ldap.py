"""The OpenLDAP test server (scripts/servers/ldap.sh; its `env` output sets
KONGPY_TEST_LDAP_*) that the ldap-auth tests bind against: plain LDAP with
StartTLS, LDAPS, a CA of its own, and a stats log with one line per bind."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.helpers.datastores import IN_CI, REPO, require_listening

_DIR = REPO / ".cache" / "servers" / "ldap"
HOST = os.environ.get("KONGPY_TEST_LDAP_HOST", "127.0.0.1")
PORT = int(os.environ.get("KONGPY_TEST_LDAP_PORT", "56389"))
LDAPS_PORT = int(os.environ.get("KONGPY_TEST_LDAPS_PORT", "56636"))
BASE_DN = os.environ.get("KONGPY_TEST_LDAP_BASE_DN", "ou=people,dc=kongpy,dc=test")
CA = Path(os.environ.get("KONGPY_TEST_LDAP_CA", str(_DIR / "tls" / "ca.pem")))
LOG = Path(os.environ.get("KONGPY_TEST_LDAP_LOG", str(_DIR / "slapd.log")))


def require_ldap() -> None:
    """Skips (locally) or fails (CI=true) unless the LDAP test server answers."""
    for port in (PORT, LDAPS_PORT):
        require_listening("ldap", HOST, port, "ldap")
    if not CA.exists() or not LOG.exists():
        message = f"the LDAP test server's CA {CA} or log {LOG} is missing"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def binds(dn: str) -> int:
    """How many simple binds as ``dn`` slapd has logged so far."""
    pattern = re.compile(r' BIND dn="' + re.escape(dn) + r'" method=128$', re.MULTILINE)
    return len(pattern.findall(LOG.read_text(errors="replace")))
