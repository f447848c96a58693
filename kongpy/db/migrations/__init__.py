"""Migration state and commands: ``state``, ``bootstrap``, ``up``, ``finish``, ``reset``.

Steps come in subsystems: ``core`` (kongpy/db/migrations/core.py) and one per
enabled plugin that ships a ``migrations.py`` (added with :meth:`Migrations.add`).
Each subsystem keeps its own bookkeeping row, as Kong's ``schema_meta`` does.
"""
from __future__ import annotations

import logging
from typing import Callable, Iterable

from kongpy.db.migrations.core import MIGRATIONS, Migration
from kongpy.db.strategies.base import Strategy, TableDef
from kongpy.errors import MigrationFailed

log = logging.getLogger(__name__)

SUBSYSTEM = "core"

__all__ = ["Migration", "Migrations", "MigrationFailed", "create_tables", "SUBSYSTEM"]


def create_tables(*tables: TableDef) -> Callable[[Strategy], None]:
    """A step creating ``tables`` through the strategy interface (any datastore)."""
    def _up(strategy: Strategy) -> None:
        for table in tables:
            strategy.create_table(table)
    return _up


def _qualified(subsystem: str, names: Iterable[str]) -> list[str]:
    if subsystem == SUBSYSTEM:
        return list(names)
    return [f"{subsystem}:{n}" for n in names]


class Migrations:
    def __init__(self, strategy: Strategy) -> None:
        self.strategy = strategy
        self.subsystems: dict[str, list[Migration]] = {
            SUBSYSTEM: list(MIGRATIONS.get(strategy.name, []))}

    @property
    def steps(self) -> list[Migration]:
        return self.subsystems[SUBSYSTEM]

    def add(self, subsystem: str, steps: Iterable[Migration]) -> None:
        """Register a plugin's steps (they run after core's)."""
        self.subsystems[subsystem] = list(steps)

    def _sub_state(self, subsystem: str) -> dict:
        meta = self.strategy.meta_get(subsystem)
        steps = self.subsystems[subsystem]
        if meta is None:
            return {"executed": [], "pending": [], "new": [s.name for s in steps]}
        done = set(meta["executed"]) | set(meta["pending"])
        return {"executed": meta["executed"], "pending": meta["pending"],
                "new": [s.name for s in steps if s.name not in done]}

    def state(self) -> dict:
        """``{"bootstrapped", "executed", "pending", "new", "subsystems"}``.

        The flat lists name core steps as-is and plugin steps as
        ``<plugin>:<step>``; ``subsystems`` holds the same per subsystem.
        """
        bootstrapped = self.strategy.meta_get(SUBSYSTEM) is not None
        out: dict = {"bootstrapped": bootstrapped, "executed": [], "pending": [], "new": [],
                     "subsystems": {}}
        for name in self.subsystems:
            sub = self._sub_state(name)
            out["subsystems"][name] = sub
            for key in ("executed", "pending", "new"):
                out[key] += _qualified(name, sub[key])
        return out

    def bootstrap(self) -> list[str]:
        """Create the bookkeeping and run every step; no-op when already bootstrapped.

        The bookkeeping exists before the first step runs, so a bootstrap that
        fails midway leaves a bootstrapped datastore with new steps: ``list``
        shows them and ``up`` resumes there.
        """
        if self.strategy.meta_get(SUBSYSTEM) is not None:
            return []
        with self.strategy.transaction():
            self.strategy.create_core_tables()
            self.strategy.meta_set(SUBSYSTEM, [], [])
        return self._run_new(bootstrapping=True)

    def up(self) -> list[str]:
        """Run new steps; those with a teardown stay pending until :meth:`finish`."""
        if self.strategy.meta_get(SUBSYSTEM) is None:
            return self.bootstrap()
        return self._run_new(bootstrapping=False)

    def _run_new(self, bootstrapping: bool) -> list[str]:
        """Each step in its own transaction with its bookkeeping (SQL stores: a
        failed step leaves no trace; Cassandra: steps are idempotent, re-run)."""
        ran: list[str] = []
        for subsystem, steps in self.subsystems.items():
            sub = self._sub_state(subsystem)
            executed, pending = list(sub["executed"]), list(sub["pending"])
            for step in steps:
                if step.name not in sub["new"]:
                    continue
                log.info("migrating %s %s (%s)", subsystem, step.name, self.strategy.name)
                try:
                    with self.strategy.transaction():
                        step.up(self.strategy)
                        # A fresh datastore has nothing to migrate: finish at once.
                        if step.teardown and bootstrapping:
                            step.teardown(self.strategy)
                        later = step.teardown and not bootstrapping
                        (pending if later else executed).append(step.name)
                        self.strategy.meta_set(subsystem, executed, pending)
                except Exception as exc:
                    raise MigrationFailed(_qualified(subsystem, [step.name])[0], ran,
                                          exc) from exc
                ran += _qualified(subsystem, [step.name])
        return ran

    def finish(self) -> list[str]:
        with self.strategy.transaction():
            if self.strategy.meta_get(SUBSYSTEM) is None:
                return []
            finished: list[str] = []
            for subsystem, steps in self.subsystems.items():
                sub = self._sub_state(subsystem)
                if not sub["pending"]:
                    continue
                by_name = {s.name: s for s in steps}
                for name in sub["pending"]:
                    step = by_name.get(name)
                    if step and step.teardown:
                        step.teardown(self.strategy)
                self.strategy.meta_set(subsystem, sub["executed"] + sub["pending"], [])
                finished += _qualified(subsystem, sub["pending"])
        return finished

    def reset(self) -> None:
        """Drop every table, bookkeeping included."""
        with self.strategy.transaction():
            self.strategy.drop_everything()

    def needs_bootstrap(self) -> bool:
        return self.strategy.meta_get(SUBSYSTEM) is None
