"""The Cassandra connection behind the Cassandra strategy: policies, session, errors.

The driver's Cluster owns threads and sockets and is not fork-safe, so one is
made per process, lazily: an Admin API worker or a node can start while
Cassandra is down and connect once it answers. After the first connection
the driver reconnects by itself (every 0.5 to 2 s, not its default of up to
ten minutes, so a node re-syncs soon after an outage).

``cassandra_timeout`` bounds every wait the driver lets us bound: making a
connection, the control connection's queries, each statement (also
``prepare``, which otherwise waits the session's default of 10 s), and the
wait for another thread that is connecting. Schema changes (migrations) wait
at least 30 s, for the nodes to agree. A statement that times out without
an answer starts an outage for this process (outage.py): the other callers
fail at once, one probe at a time tries again.
"""
from __future__ import annotations

import logging
import os
import ssl
import threading
import weakref
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

from cassandra import (ConsistencyLevel, DriverException, OperationTimedOut, ReadTimeout,
                       Unavailable, WriteTimeout)
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable
from cassandra.policies import (DCAwareRoundRobinPolicy, ExponentialReconnectionPolicy,
                                RoundRobinPolicy, WrapperPolicy)
from cassandra.query import BatchStatement, BatchType, SimpleStatement, dict_factory

from kongpy.db.strategies.outage import Outage
from kongpy.dbconf import CassandraSettings
from kongpy.errors import DatabaseError, DatastoreUnavailable

try:  # the C event loop shipped in the driver's wheels; asyncore is deprecated
    from cassandra.io.libevreactor import LibevConnection as _Connection
except ImportError:  # pragma: no cover - a driver built without its extensions
    from cassandra.io.asyncioreactor import AsyncioConnection as _Connection

log = logging.getLogger(__name__)

# Connections holding a cluster, so a process can end them all (close_all).
_OPEN: weakref.WeakSet = weakref.WeakSet()

_UNAVAILABLE = (NoHostAvailable, OperationTimedOut, Unavailable, ReadTimeout, WriteTimeout)


class RequestPinnedPolicy(WrapperPolicy):
    """Kong's ``Request…`` policies: one coordinator for a whole request.

    Here a request is a write unit (``transaction()``): its first statement
    takes the next host of the wrapped policy and every later one goes to the
    same host while it is up. Besides sparing connections, this puts the
    unit's lightweight transactions and its batch on one coordinator's clock
    (docs/datastores.md, "Cassandra timestamps"). Outside a unit, statements
    follow the wrapped policy.
    """

    def __init__(self, child: Any) -> None:
        super().__init__(child)
        self._local = threading.local()

    @contextmanager
    def pinned(self) -> Iterator[None]:
        if getattr(self._local, "active", False):
            yield
            return
        self._local.active, self._local.host = True, None
        try:
            yield
        finally:
            self._local.active, self._local.host = False, None

    def make_query_plan(self, working_keyspace: Any = None, query: Any = None) -> Any:
        plan = list(self._child_policy.make_query_plan(working_keyspace, query))
        # Decided here, in the caller's thread: retries run on the driver's.
        if not getattr(self._local, "active", False) or not plan:
            return plan
        host = self._local.host
        if host is None or host.is_up is False:
            host = self._local.host = next((h for h in plan if h.is_up is not False), plan[0])
        return [host] + [h for h in plan if h != host]


def load_balancing(settings: CassandraSettings) -> Any:
    """The driver policy named by ``cassandra_lb_policy``."""
    if settings.dc_aware:
        policy = DCAwareRoundRobinPolicy(local_dc=settings.local_dc)
    else:
        policy = RoundRobinPolicy()
    return RequestPinnedPolicy(policy) if settings.per_request else policy


def ssl_context(settings: CassandraSettings) -> ssl.SSLContext | None:
    """``cassandra_ssl``: TLS to every node; ``cassandra_ssl_verify``: against
    the system's certificate authorities, host name included."""
    if not settings.ssl:
        return None
    context = ssl.create_default_context()
    if not settings.ssl_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class CassandraConnection:
    """A lazily connected session with prepared statements and error mapping."""

    def __init__(self, settings: CassandraSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._cluster: Cluster | None = None
        self._session: Any = None
        self._prepared: dict[str, Any] = {}
        self.policy = load_balancing(settings)
        self._outage = Outage()
        self._outage_pid = os.getpid()

    def _profile(self) -> ExecutionProfile:
        s = self.settings
        return ExecutionProfile(
            load_balancing_policy=self.policy,
            consistency_level=ConsistencyLevel.name_to_value[s.consistency],
            # Paxos within the local datacenter when the policy keeps to it.
            serial_consistency_level=(ConsistencyLevel.LOCAL_SERIAL if s.dc_aware
                                      else ConsistencyLevel.SERIAL),
            request_timeout=s.timeout_s, row_factory=dict_factory)

    @contextmanager
    def pinned(self) -> Iterator[None]:
        """One coordinator for what runs inside, with a ``Request…`` policy."""
        if isinstance(self.policy, RequestPinnedPolicy):
            with self.policy.pinned():
                yield
        else:
            yield

    def session(self) -> Any:
        # A thread connecting to a silent server holds the lock for up to the
        # timeout; the others wait no longer than that for it.
        if not self._lock.acquire(timeout=self.settings.timeout_s):
            raise DatastoreUnavailable(self._silence_message())
        try:
            if self._pid != os.getpid():
                self._cluster, self._session, self._prepared = None, None, {}
                self._pid = os.getpid()
            if self._session is None:
                self.outage().recheck()
                self._session = self._connect()
            return self._session
        finally:
            self._lock.release()

    def outage(self) -> Outage:
        """This process's (a forked child starts without its parent's)."""
        if self._outage_pid != os.getpid():
            self._outage, self._outage_pid = Outage(), os.getpid()
        return self._outage

    def _connect(self) -> Any:
        s = self.settings
        auth = PlainTextAuthProvider(s.username, s.password) if s.username else None
        # A policy learns its cluster's hosts: a new Cluster (after a fork) gets its own.
        self.policy = load_balancing(s)
        cluster = Cluster(
            list(s.contact_points), port=s.port, auth_provider=auth,
            ssl_context=ssl_context(s),
            execution_profiles={EXEC_PROFILE_DEFAULT: self._profile()},
            connect_timeout=s.timeout_s, control_connection_timeout=s.timeout_s,
            reconnection_policy=ExponentialReconnectionPolicy(0.5, 2.0),
            # v4 is spoken by every Cassandra from 2.2 to 5.0; naming it spares a
            # downgrade round (and its warnings) on each connection.
            protocol_version=4, connection_class=_Connection,
            # Preparing on every host waits for each in turn; a statement is
            # prepared on another host when it first runs there instead.
            prepare_on_all_hosts=False)
        try:
            session = cluster.connect()
        except (DriverException, NoHostAvailable, OSError) as exc:
            cluster.shutdown()
            raise self._failure(exc) from None
        # prepare() waits the session's default_timeout (10 s), which the
        # driver refuses to set once execution profiles are in use; its
        # property only stores this attribute.
        session._default_timeout = s.timeout_s
        # Server-side timestamps: plain writes then take their timestamps from
        # the same clock as lightweight transactions (paxos ballots), so a
        # plain DELETE right after an INSERT ... IF NOT EXISTS cannot be
        # ordered before it by a client/server clock difference.
        session.use_client_timestamp = False
        self._cluster = cluster
        _OPEN.add(self)
        return session

    def unavailable(self, exc: BaseException) -> DatastoreUnavailable:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return DatastoreUnavailable(
            f"cannot reach the datastore ({self.settings.where()}): {reason[:300]}")

    def _silence_message(self) -> str:
        return (f"cannot reach the datastore ({self.settings.where()}): no answer within "
                f"{int(self.settings.timeout_s * 1000)} ms")

    def _failure(self, exc: BaseException) -> DatastoreUnavailable:
        """The error for a driver failure; one without any answer starts an outage."""
        if not _silent(exc):
            return self.unavailable(exc)
        message = self._silence_message()
        self.outage().no_answer(message)
        return DatastoreUnavailable(message)

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
        def call() -> Any:
            stmt = self.prepare(cql) if params or fetch_size else SimpleStatement(cql)
            values: Sequence[Any] | None = params
            if fetch_size:
                stmt = stmt.bind(params)
                stmt.fetch_size = fetch_size
                values = None
            return self.session().execute(stmt, values, paging_state=paging_state)
        return self._guard(call)

    def batch(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> Any:
        """One LOGGED batch of prepared statements: all of them apply, or none.

        With conditions (all in one partition) it is one lightweight
        transaction; the ResultSet then says ``was_applied``.
        """
        def call() -> Any:
            batch = BatchStatement(batch_type=BatchType.LOGGED)
            for cql, params in statements:
                batch.add(self.prepare(cql), params)
            return self.session().execute(batch)
        return self._guard(call)

    def ddl(self, cql: str) -> None:
        """Schema changes: the driver waits until every node agrees on the schema."""
        self._guard(lambda: self.session().execute(
            SimpleStatement(cql), timeout=max(self.settings.timeout_s, 30.0)))

    def _guard(self, call: Any) -> Any:
        with self.outage().admitted():
            try:
                result = call()
            except _UNAVAILABLE as exc:
                raise self._failure(exc) from None
            except DriverException as exc:
                raise DatabaseError(f"[cassandra] {exc}") from exc
        self.outage().answered()
        return result


def close_all() -> None:
    """Shuts down every cluster this process still holds (the driver's own
    threads otherwise outlive the interpreter's executors at exit and fail)."""
    for conn in list(_OPEN):
        conn.close()


def _silent(exc: BaseException) -> bool:
    """Whether ``exc`` means that no node answered at all before the timeout
    (a client-side timeout), rather than an answer such as Unavailable."""
    if isinstance(exc, OperationTimedOut):
        return True
    if isinstance(exc, NoHostAvailable):
        errors = list((exc.errors or {}).values())
        return bool(errors) and all(isinstance(e, OperationTimedOut) for e in errors)
    return False
