"""A voltage source for power.status tests: answers ``fake_battery: {voltage: ...}`` from its config.

Stands in for ``device_modules.obd`` (``power: {voltage_source: tests.unit.fake_battery}``), with
the same ``MODULE``/``battery`` shape; ``fail: <text>`` makes it raise, ``available: false`` makes
it unavailable.
"""

from __future__ import annotations

from typing import Any

from device_modules.context import DeviceContext
from device_modules.errors import DeviceIOError
from device_modules.spec import Availability, ModuleSpec


def battery(ctx: DeviceContext) -> dict[str, Any]:
    cfg = ctx.module_config("fake_battery")
    if "fail" in cfg:
        raise DeviceIOError(str(cfg["fail"]))
    return {"_type": "bat", "voltage": cfg.get("voltage"), "state": "charging"}


def available(ctx: DeviceContext) -> Availability:
    if ctx.module_config("fake_battery").get("available", True):
        return Availability.yes("fake")
    return Availability.no("no adapter on /dev/serial0")


MODULE = ModuleSpec(name="fake_battery", functions={"battery": battery}, available=available)
