"""Assembling what a minion process runs with: grains, device context, registry, job runner.

Shared by ``edge-minion`` and ``fleet-call`` so both see the same modules.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from device_modules.context import DeviceContext, RunningJobs
from edge_minion.config import MinionConfig

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    context: DeviceContext
    registry: Any  # device_modules.registry.Registry
    grains: Any  # edge_minion.grains.store.Grains

    def run(self, fun: str, arg: list[Any]) -> tuple[Any, int, bool, str | None]:
        """Run ``fun`` with Salt-style ``arg``; the Salt return shape as a tuple."""
        from device_modules.outcome import execute

        outcome = execute(self.registry, fun, arg)
        return outcome.return_, outcome.retcode, outcome.success, outcome.out

    def grain_items(self) -> dict[str, Any]:
        return dict(self.grains.items())


def build_runtime(config: MinionConfig, jobs: RunningJobs | None = None,
                  on_grains_change: Callable[[dict[str, Any]], None] | None = None,
                  scheduler: Any | None = None) -> Runtime:
    """``scheduler`` is what ``schedule.*`` works on (``ctx.extra["scheduler"]``): the minion's
    live one, or by default the schedule stored under the state directory (``fleet-call``)."""
    from device_modules.context import NoJobs
    from device_modules.registry import Registry
    from edge_minion.grains.store import Grains
    from edge_minion.schedule import open_book

    context = DeviceContext(
        minion_id=config.id, config=dict(config.modules), hardware=config.hardware,  # type: ignore[arg-type]
        state_dir=config.state_dir, jobs=jobs or NoJobs(),
    )
    context.extra["scheduler"] = scheduler if scheduler is not None else open_book(config.state_dir, config.schedule)
    registry_box: list[Any] = []

    def hardware_report() -> dict[str, Any]:
        if not registry_box:
            return {}
        return {name: {"available": a.ok, "reason": a.reason, "backend": a.backend}
                for name, a in registry_box[0].availability().items()}

    config.state_dir.mkdir(parents=True, exist_ok=True)
    grains = Grains(config.id, config.grains, config.state_dir, hardware_report=hardware_report,
                    on_change=on_grains_change, hardware=config.hardware)
    context.grains = grains
    registry = Registry(context)
    registry_box.append(registry)
    grains.refresh()
    for name, reason in registry.unavailable().items():
        log.info("module %s unavailable: %s", name, reason)
    return Runtime(context, registry, grains)
