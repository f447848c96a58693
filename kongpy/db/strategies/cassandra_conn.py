"""The Cassandra connection behind the Cassandra strategy: settings, session, errors.

The driver's Cluster owns threads and sockets and is not fork-safe, so one is
made per process, lazily: an Admin API worker or a node can start while
Cassandra is down and connect once it answers. After the first connection
the driver reconnects by itself (every 0.5 to 2 s, not its default of up to
ten minutes, so a node re-syncs soon after an outage).
"""
from __future__ import annotations

import logging
import os
import threading
from typing import Any, Mapping, Sequence

from cassandra import (ConsistencyLevel, DriverException, OperationTimedOut, ReadTimeout,
                       Unavailable, WriteTimeout)
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable
from cassandra.policies import (DCAwareRoundRobinPolicy, ExponentialReconnectionPolicy,
                                RoundRobinPolicy)
from cassandra.query import BatchStatement, BatchType, SimpleStatement, dict_factory

from kongpy.errors import DatabaseError, DatastoreUnavailable

try:  # the C event loop shipped in the driver's wheels; asyncore is deprecated
    from cassandra.io.libevreactor import LibevConnection as _Connection
except ImportError:  # pragma: no cover - a driver built without its extensions
    from cassandra.io.asyncioreactor import AsyncioConnection as _Connection

log = logging.getLogger(__name__)

_UNAVAILABLE = (NoHostAvailable, OperationTimedOut, Unavailable, ReadTimeout, WriteTimeout)


class CassandraSettings:
    """The ``cassandra_*`` properties of kongpy.conf, typed."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.contact_points: list[str] = list(config.get("cassandra_contact_points")
                                              or ["127.0.0.1"])
        self.port = int(config.get("cassandra_port") or 9042)
        self.keyspace = str(config.get("cassandra_keyspace") or "kong")
        self.timeout_s = int(config.get("cassandra_timeout") or 5000) / 1000.0
        self.consistency = str(config.get("cassandra_consistency") or "ONE").upper()
        self.local_dc = config.get("cassandra_local_datacenter") or None
        self.username = config.get("cassandra_username") or None
        self.password = config.get("cassandra_password") or ""
        self.repl_strategy = str(config.get("cassandra_repl_strategy") or "SimpleStrategy")
        self.repl_factor = int(config.get("cassandra_repl_factor") or 1)
        self.data_centers: list[str] = list(config.get("cassandra_data_centers") or [])

    def where(self) -> str:
        return f"cassandra at {','.join(self.contact_points)}:{self.port}"

    def replication(self) -> str:
        if self.repl_strategy == "NetworkTopologyStrategy":
            parts = ["'class': 'NetworkTopologyStrategy'"]
            for item in self.data_centers:
                name, _, factor = item.partition(":")
                parts.append(f"'{name.strip()}': {int(factor or 1)}")
            return "{" + ", ".join(parts) + "}"
        return f"{{'class': 'SimpleStrategy', 'replication_factor': {self.repl_factor}}}"


class CassandraConnection:
    """A lazily connected session with prepared statements and error mapping."""

    def __init__(self, settings: CassandraSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._cluster: Cluster | None = None
        self._session: Any = None
        self._prepared: dict[str, Any] = {}

    def _profile(self) -> ExecutionProfile:
        s = self.settings
        local = s.local_dc is not None
        policy = DCAwareRoundRobinPolicy(local_dc=s.local_dc) if local else RoundRobinPolicy()
        return ExecutionProfile(
            load_balancing_policy=policy,
            consistency_level=ConsistencyLevel.name_to_value[s.consistency],
            serial_consistency_level=(ConsistencyLevel.LOCAL_SERIAL if local
                                      else ConsistencyLevel.SERIAL),
            request_timeout=s.timeout_s, row_factory=dict_factory)

    def session(self) -> Any:
        with self._lock:
            if self._pid != os.getpid():
                self._cluster, self._session, self._prepared = None, None, {}
                self._pid = os.getpid()
            if self._session is None:
                self._session = self._connect()
            return self._session

    def _connect(self) -> Any:
        s = self.settings
        auth = PlainTextAuthProvider(s.username, s.password) if s.username else None
        cluster = Cluster(
            s.contact_points, port=s.port, auth_provider=auth,
            execution_profiles={EXEC_PROFILE_DEFAULT: self._profile()},
            connect_timeout=s.timeout_s, control_connection_timeout=s.timeout_s,
            reconnection_policy=ExponentialReconnectionPolicy(0.5, 2.0),
            # v4 is spoken by every Cassandra from 2.2 to 5.0; naming it spares a
            # downgrade round (and its warnings) on each connection.
            protocol_version=4, connection_class=_Connection)
        try:
            session = cluster.connect()
        except (DriverException, NoHostAvailable, OSError) as exc:
            cluster.shutdown()
            raise self.unavailable(exc) from None
        # Server-side timestamps: plain writes then take their timestamps from
        # the same clock as lightweight transactions (paxos ballots), so a
        # plain DELETE right after an INSERT ... IF NOT EXISTS cannot be
        # ordered before it by a client/server clock difference.
        session.use_client_timestamp = False
        self._cluster = cluster
        return session

    def unavailable(self, exc: BaseException) -> DatastoreUnavailable:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return DatastoreUnavailable(
            f"cannot reach the datastore ({self.settings.where()}): {reason[:300]}")

    def close(self) -> None:
        with self._lock:
            if self._cluster is not None and self._pid == os.getpid():
                self._cluster.shutdown()
            self._cluster, self._session, self._prepared = None, None, {}

    def prepare(self, cql: str) -> Any:
        stmt = self._prepared.get(cql)
        if stmt is None:
            stmt = self._guard(lambda: self.session().prepare(cql))
            self._prepared[cql] = stmt
        return stmt

    def run(self, cql: str, params: Sequence[Any] = (), *, fetch_size: int | None = None,
            paging_state: bytes | None = None) -> Any:
        """Executes a prepared ``cql``; returns the driver's ResultSet."""
        stmt = self.prepare(cql) if params or fetch_size else SimpleStatement(cql)
        if fetch_size:
            stmt = stmt.bind(params)
            stmt.fetch_size = fetch_size
            params = None
        session = self.session()
        return self._guard(lambda: session.execute(stmt, params, paging_state=paging_state))

    def batch(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> Any:
        """One LOGGED batch of prepared statements: all of them apply, or none.

        With conditions (all in one partition) it is one lightweight
        transaction; the ResultSet then says ``was_applied``.
        """
        batch = BatchStatement(batch_type=BatchType.LOGGED)
        for cql, params in statements:
            batch.add(self.prepare(cql), params)
        session = self.session()
        return self._guard(lambda: session.execute(batch))

    def ddl(self, cql: str) -> None:
        """Schema changes: the driver waits until every node agrees on the schema."""
        session = self.session()
        self._guard(lambda: session.execute(SimpleStatement(cql),
                                            timeout=max(self.settings.timeout_s, 30.0)))

    def _guard(self, call: Any) -> Any:
        try:
            return call()
        except _UNAVAILABLE as exc:
            raise self.unavailable(exc) from None
        except DriverException as exc:
            raise DatabaseError(f"[cassandra] {exc}") from exc
