"""Measures credential revocation latency and per-worker RSS on a real node.

    .venv/bin/python scripts/measure_revocation.py [credentials] [revocations]

Loads the credentials straight into a fresh SQLite datastore, starts a node
with two workers, then revokes credentials one at a time through the Admin
API and reports how long until the key is refused on fresh connections and
until every worker reports the new version. Not a test: it takes minutes.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kongpy import conf as kconf  # noqa: E402
from kongpy import db as kdb  # noqa: E402
from tests.helpers.gateway import Gateway  # noqa: E402
from tests.helpers.servers import EchoServer  # noqa: E402


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def report_rss(gw: Gateway, label: str) -> None:
    workers = gw.dataplane_config()["workers"]
    print(label, ", ".join(f"worker {w['id']}: {rss_mib(w['pid']):.0f} MiB" for w in workers))


def refused_everywhere(gw: Gateway, key: str, hits: int = 4) -> bool:
    return all(requests.get(gw.proxy + "/m", timeout=5, headers={
        "apikey": key, "Connection": "close"}).status_code == 401 for _ in range(hits))


def main(count: int, revocations: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="kpm", dir="/tmp"))
    upstream = EchoServer().start()
    gw = Gateway(work)
    try:
        gw.cli("migrations", "bootstrap", "-c", str(gw.conf_path))
        database = kdb.open(kconf.load(str(gw.conf_path), env={}))
        started = time.monotonic()
        svc = database.services.insert({"name": "m", "host": upstream.host,
                                        "port": upstream.port})
        route = database.routes.insert({"paths": ["/m"], "service": {"id": svc["id"]}})
        database.plugins.insert({"name": "key-auth", "route": {"id": route["id"]}})
        bob = database.consumers.insert({"username": "bob"})
        with database.strategy.transaction():
            creds = [database.keyauth_credentials.insert(
                {"consumer": {"id": bob["id"]}, "key": f"key-{i}"}) for i in range(count)]
        database.close()
        print(f"{count} credentials inserted in {time.monotonic() - started:.1f} s")
        started = time.monotonic()
        gw.cli("start", "-c", str(gw.conf_path), "-p", str(gw.prefix), timeout=300)
        gw.wait_sync(timeout=300)
        print(f"node started and synced in {time.monotonic() - started:.1f} s")
        snap = gw.prefix / "config" / "snapshot.json"
        print(f"snapshot: {snap.stat().st_size / 2**20:.1f} MiB")
        report_rss(gw, "RSS after start:")
        refused, synced = [], []
        for i in range(revocations):
            victim = creds[(i + 1) * count // (revocations + 1)]
            t0 = time.monotonic()
            resp = requests.delete(f"{gw.admin}/key-auths/{victim['id']}", timeout=10)
            assert resp.status_code == 204, resp.text
            while not refused_everywhere(gw, victim["key"]):
                time.sleep(0.005)
            refused.append(time.monotonic() - t0)
            gw.wait_sync(timeout=30)
            synced.append(time.monotonic() - t0)
            time.sleep(0.5)
        print("revocation refused on fresh connections after (s):",
              " ".join(f"{t:.3f}" for t in refused))
        print("every worker on the new version after (s):",
              " ".join(f"{t:.3f}" for t in synced))
        report_rss(gw, "RSS after revocations:")
    finally:
        gw.stop()
        upstream.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000,
         int(sys.argv[2]) if len(sys.argv) > 2 else 5)
