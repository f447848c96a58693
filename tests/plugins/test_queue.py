"""kong.tools.queue (lua/kong/tools/queue.lua) in a real worker: the
queue-probe fixture plugin (tests/fixtures/plugins/kong/plugins/queue-probe/)
queues each request's URI and sends batches, one JSON line each, to a TCP
receiver that answers ``ok`` or, when told to, something else (a failure)."""
from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.helpers.http import proxy

FIXTURE_PLUGINS = Path(__file__).resolve().parents[1] / "fixtures" / "plugins"


class BatchReceiver:
    """Records every batch with its arrival time; ``fail(n)`` answers the next
    n batches with an error, ``down()`` refuses connections."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.batches: list[tuple[float, list[str]]] = []
        self.attempts = 0
        self._failures = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def fail(self, count: int) -> None:
        with self._lock:
            self._failures = count

    def reset(self) -> None:
        with self._lock:
            self.batches.clear()
            self.attempts = 0
            self._failures = 0

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rwb") as stream:
            line = stream.readline()
            if not line:
                return
            with self._lock:
                self.attempts += 1
                failing = self._failures > 0
                if failing:
                    self._failures -= 1
                else:
                    self.batches.append((time.monotonic(), json.loads(line)))
            stream.write(b"busy\n" if failing else b"ok\n")
            stream.flush()

    def entries(self) -> list[str]:
        with self._lock:
            return [e for _, batch in self.batches for e in batch]

    def wait_entries(self, count: int, timeout: float = 10) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.entries()
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"expected {count} entries, got {self.entries()}")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def receiver():
    r = BatchReceiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def gateway(start_node, upstream):
    gw = start_node(workers=1, plugins="bundled, queue-probe",
                    plugins_path=str(FIXTURE_PLUGINS))
    gw.create("/services", {"name": "svc", "url": upstream.url})
    return gw


@pytest.fixture(autouse=True)
def _clean(receiver):
    receiver.reset()


def _probe(gw, receiver, path: str, **queue) -> None:
    gw.route(path, {"name": "queue-probe",
                    "config": {"port": receiver.port, "queue_name": path, "queue": queue}})
    gw.wait_sync()


def _hit(gw, path: str, count: int) -> list[str]:
    uris = [f"{path}?n={i}" for i in range(count)]
    for uri in uris:
        assert proxy(gw).get(uri).status_code == 200
    return uris


def test_full_batches_leave_at_once(gateway, receiver):
    _probe(gateway, receiver, "/batch", max_batch_size=3, max_coalescing_delay=30)
    uris = _hit(gateway, "/batch", 6)
    assert receiver.wait_entries(6, timeout=10) == uris
    assert [len(b) for _, b in receiver.batches] == [3, 3]


def test_a_batch_closes_after_the_coalescing_delay(gateway, receiver):
    _probe(gateway, receiver, "/coalesce", max_batch_size=100, max_coalescing_delay=1)
    started = time.monotonic()
    uris = _hit(gateway, "/coalesce", 4)
    assert receiver.wait_entries(4) == uris
    arrived = receiver.batches[0][0] - started
    assert len(receiver.batches) == 1
    assert 0.9 <= arrived, arrived


def test_a_failed_batch_is_retried_until_it_goes_through(gateway, receiver):
    _probe(gateway, receiver, "/retry", initial_retry_delay=0.05)
    receiver.fail(3)
    uris = _hit(gateway, "/retry", 1)
    assert receiver.wait_entries(1) == uris
    assert receiver.attempts == 4
    log = (gateway.prefix / "logs" / "error.log").read_text()
    assert "queue /retry: handler could not process entries: receiver said busy" in log


def test_a_batch_failing_past_max_retry_time_is_dropped_and_said(gateway, receiver):
    _probe(gateway, receiver, "/giveup", initial_retry_delay=0.05, max_retry_delay=0.1,
           max_retry_time=0.5)
    receiver.fail(1000)
    _hit(gateway, "/giveup", 1)
    deadline = time.monotonic() + 5
    message = ("queue /giveup: could not send entries due to max_retry_time exceeded. "
               "1 queue entries were lost")
    log_path = gateway.prefix / "logs" / "error.log"
    while message not in log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert message in log_path.read_text()
    receiver.fail(0)
    uris = _hit(gateway, "/giveup", 1)
    assert receiver.wait_entries(1) == uris


def test_a_full_queue_drops_its_oldest_entries(gateway, receiver):
    _probe(gateway, receiver, "/full", max_entries=3, initial_retry_delay=1, max_retry_delay=1)
    receiver.fail(1)
    first = _hit(gateway, "/full", 1)
    # the first batch is out of the queue, waiting for its retry; 5 more wait
    # behind it in a queue that holds 3
    time.sleep(0.3)
    rest = _hit(gateway, "/full", 6)[1:]
    got = receiver.wait_entries(4, timeout=10)
    assert got == first + rest[-3:]
    log = (gateway.prefix / "logs" / "error.log").read_text()
    assert "queue /full: queue full, dropping old entries until processing is successful again" \
        in log


def test_an_entry_longer_than_max_bytes_is_refused(gateway, receiver):
    _probe(gateway, receiver, "/bytes", max_bytes=12)
    _hit(gateway, "/bytes", 1)   # "/bytes?n=0" fits
    proxy(gateway).get("/bytes?padding-beyond-twelve")
    assert receiver.wait_entries(1) == ["/bytes?n=0"]
    time.sleep(0.3)
    assert receiver.entries() == ["/bytes?n=0"]
    log = (gateway.prefix / "logs" / "error.log").read_text()
    assert "string to be queued is longer (28 bytes) than the queue's max_bytes (12 bytes)" in log


def test_without_concurrency_limit_each_entry_goes_alone(gateway, receiver):
    _probe(gateway, receiver, "/alone", concurrency_limit=-1, max_batch_size=10,
           max_coalescing_delay=30)
    uris = _hit(gateway, "/alone", 3)
    assert sorted(receiver.wait_entries(3, timeout=5)) == sorted(uris)
    assert [len(b) for _, b in receiver.batches] == [1, 1, 1]


def test_a_graceful_stop_sends_what_is_queued(start_node, upstream, receiver):
    gw = start_node(workers=1, plugins="bundled, queue-probe",
                    plugins_path=str(FIXTURE_PLUGINS))
    gw.create("/services", {"name": "svc", "url": upstream.url})
    _probe(gw, receiver, "/stop", max_batch_size=100, max_coalescing_delay=60)
    uris = _hit(gw, "/stop", 3)
    time.sleep(0.2)
    assert receiver.entries() == []
    gw.stop()
    assert receiver.wait_entries(3, timeout=5) == uris
