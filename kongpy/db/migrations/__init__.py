"""Migration state and commands: ``state``, ``bootstrap``, ``up``, ``finish``, ``reset``."""
from __future__ import annotations

import logging

from kongpy.db.migrations.core import MIGRATIONS, Migration
from kongpy.db.strategies.base import Strategy

log = logging.getLogger(__name__)

SUBSYSTEM = "core"


class Migrations:
    def __init__(self, strategy: Strategy) -> None:
        self.strategy = strategy
        self.steps: list[Migration] = list(MIGRATIONS.get(strategy.name, []))

    def state(self) -> dict:
        """``{"bootstrapped", "executed", "pending", "new"}`` (lists of step names)."""
        meta = self.strategy.meta_get(SUBSYSTEM)
        if meta is None:
            return {"bootstrapped": False, "executed": [], "pending": [],
                    "new": [s.name for s in self.steps]}
        done = set(meta["executed"]) | set(meta["pending"])
        return {"bootstrapped": True, "executed": meta["executed"],
                "pending": meta["pending"],
                "new": [s.name for s in self.steps if s.name not in done]}

    def bootstrap(self) -> list[str]:
        """Create the bookkeeping and run every step; no-op when already bootstrapped."""
        with self.strategy.transaction():
            if self.strategy.meta_get(SUBSYSTEM) is not None:
                return []
            for step in self.steps:
                log.info("migrating %s (%s)", step.name, self.strategy.name)
                step.up(self.strategy)
                if step.teardown:
                    step.teardown(self.strategy)
            names = [s.name for s in self.steps]
            self.strategy.meta_set(SUBSYSTEM, names, [])
        return names

    def up(self) -> list[str]:
        """Run new steps; those with a teardown stay pending until :meth:`finish`."""
        with self.strategy.transaction():
            state = self.state()
            if not state["bootstrapped"]:
                return self.bootstrap()
            executed, pending = list(state["executed"]), list(state["pending"])
            ran = []
            for step in self.steps:
                if step.name in state["new"]:
                    step.up(self.strategy)
                    (pending if step.teardown else executed).append(step.name)
                    ran.append(step.name)
            self.strategy.meta_set(SUBSYSTEM, executed, pending)
        return ran

    def finish(self) -> list[str]:
        with self.strategy.transaction():
            state = self.state()
            if not state["bootstrapped"]:
                return []
            by_name = {s.name: s for s in self.steps}
            finished = []
            for name in state["pending"]:
                step = by_name.get(name)
                if step and step.teardown:
                    step.teardown(self.strategy)
                finished.append(name)
            self.strategy.meta_set(SUBSYSTEM, state["executed"] + finished, [])
        return finished

    def reset(self) -> None:
        """Drop every table, bookkeeping included."""
        with self.strategy.transaction():
            self.strategy.drop_everything()

    def needs_bootstrap(self) -> bool:
        return not self.state()["bootstrapped"]
