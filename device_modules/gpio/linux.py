"""Pins on a gpiozero pin factory; the real backend is gpiozero's default factory.

:class:`FactoryPins` drives any gpiozero ``Factory``: :func:`open_default`
hands it the factory gpiozero itself would pick on a Pi (lgpio, then
RPi.GPIO, pigpio, native, or the one named by ``gpio: {pin_factory: ...}``);
the simulator hands it a ``MockFactory``. gpiozero is imported inside the
functions, so this package imports on a machine without it.
"""

from __future__ import annotations

import functools
import importlib
import logging
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from device_modules.errors import DeviceIOError, InvalidArguments, ModuleUnavailable
from device_modules.gpio.backend import Edge, Mode

__all__ = ["FactoryPins", "open_default"]

log = logging.getLogger(__name__)


@functools.cache
def _driver_errors() -> tuple[type[BaseException], ...]:
    """What gpiozero and the pin libraries under it raise (lgpio and pigpio have their own ``error``)."""
    from gpiozero.exc import GPIOZeroError

    errors: list[type[BaseException]] = [GPIOZeroError, OSError, RuntimeError]
    for library in ("lgpio", "pigpio"):
        try:
            errors.append(importlib.import_module(library).error)
        except (ImportError, AttributeError):
            continue
    return tuple(errors)


@contextmanager
def _gpiozero_errors(pin: str) -> Iterator[None]:
    """Turn gpiozero's and its pin libraries' errors into ours, keeping the cause."""
    from gpiozero.exc import PinPWMUnsupported, PinSetInput

    try:
        yield
    except PinPWMUnsupported as exc:
        raise DeviceIOError(f"{pin} cannot do PWM with this pin factory") from exc
    except PinSetInput as exc:
        raise InvalidArguments(f"{pin} is an input; it cannot be driven") from exc
    except _driver_errors() as exc:
        raise DeviceIOError(f"{pin}: {exc}") from exc


def _normalise(spec: int | str) -> int | str:
    if isinstance(spec, bool) or not isinstance(spec, int | str):
        raise InvalidArguments(f"a pin is a BCM number or a board name, not {spec!r}")
    return spec.strip().upper() if isinstance(spec, str) else spec


class FactoryPins:
    """The pins of one gpiozero factory, as a :class:`~device_modules.gpio.backend.GpioBackend`."""

    def __init__(self, factory: Any, name: str) -> None:
        self.factory = factory
        self.name = name
        self._guard = threading.Lock()
        self._pins: dict[str, Any] = {}
        self._used: set[str] = set()

    def resolve(self, spec: int | str) -> str:
        key = _normalise(spec)
        with self._guard:
            try:
                pin = self.factory.pin(key)
            except ValueError as exc:  # PinInvalidPin derives from ValueError
                model = getattr(getattr(self.factory, "board_info", None), "model", "?")
                raise InvalidArguments(f"{spec!r} is not a GPIO pin on this board (Pi {model}): {exc}") from exc
            except _driver_errors() as exc:
                raise DeviceIOError(f"pin {spec!r}: {exc}") from exc
            name = str(pin.info.name)
            self._pins.setdefault(name, pin)
            return name

    def _pin(self, name: str) -> Any:
        with self._guard:
            return self._pins[name]

    def mode(self, pin: str) -> Mode | None:
        if pin not in self._used:
            return None
        p = self._pin(pin)
        if p.function == "output":
            return "pwm" if p.frequency is not None else "output"
        return "input"

    def read(self, pin: str) -> float:
        p = self._pin(pin)
        with _gpiozero_errors(pin):
            if pin not in self._used:
                p.function = "input"
                self._used.add(pin)
            if p.frequency is not None:
                return float(p.state)
            return 1.0 if p.state else 0.0

    def write(self, pin: str, value: bool) -> None:
        p = self._pin(pin)
        with _gpiozero_errors(pin):
            if p.frequency is not None:
                p.frequency = None
            p.output_with_state(bool(value))
            self._used.add(pin)

    def pwm(self, pin: str, duty_cycle: float, frequency: float) -> None:
        p = self._pin(pin)
        with _gpiozero_errors(pin):
            if p.function != "output":
                p.function = "output"
            self._used.add(pin)
            p.frequency = frequency
            p.state = duty_cycle

    def wait_for_edge(self, pin: str, edge: Edge, timeout: float) -> int | None:
        p = self._pin(pin)
        seen = threading.Event()
        level: list[int] = []

        def changed(ticks: object, state: object) -> None:
            level.append(1 if state else 0)
            seen.set()

        with _gpiozero_errors(pin):
            if p.function != "input":
                p.function = "input"
            self._used.add(pin)
            p.edges = edge
            # gpiozero keeps only a weak reference: ``changed`` lives in this frame until we return.
            p.when_changed = changed
            try:
                if not seen.wait(timeout):
                    return None
                return level[0]
            finally:
                p.when_changed = None
                p.edges = "both"

    def describe(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for name in sorted(self._used, key=lambda n: int(n[4:]) if n[4:].isdigit() else 0):
            p = self._pin(name)
            mode = self.mode(name)
            header = sorted(n for n in p.info.names if isinstance(n, str) and ":" in n)
            entry: dict[str, Any] = {"mode": mode, "header_pin": header[0] if header else None}
            if mode == "pwm":
                entry.update(value=float(p.state), frequency=float(p.frequency))
            else:
                entry["value"] = 1 if p.state else 0
            if mode == "input":
                entry["pull"] = p.pull
            out[name] = entry
        return out

    def close(self) -> None:
        with self._guard:
            pins, self._pins = list(self._pins.values()), {}
            self._used.clear()
        for p in pins:
            try:
                p.close()
            except Exception:  # releasing one pin must not stop the others
                log.debug("closing %r failed", p, exc_info=True)
        close = getattr(self.factory, "close", None)
        if callable(close):
            close()


def _factory_by_name(name: str) -> Any:
    from importlib.metadata import entry_points

    for ep in entry_points(group="gpiozero_pin_factories"):
        if ep.name == name.lower():
            return ep.load()()
    raise ModuleUnavailable("gpio", f"no gpiozero pin factory named {name!r}")


def open_default(config: Mapping[str, Any]) -> FactoryPins:
    """The real backend: the configured factory, else gpiozero's default one.

    Raises:
        ModuleUnavailable: no pin factory loads here (each fallback's reason is given).
    """
    from gpiozero import Device

    wanted = config.get("pin_factory")
    started = time.monotonic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            factory = _factory_by_name(str(wanted)) if wanted else Device._default_pin_factory()
        except ModuleUnavailable:
            raise
        except Exception as exc:
            tried = "; ".join(str(w.message) for w in caught)
            detail = f" ({tried})" if tried else ""
            raise ModuleUnavailable("gpio", f"no gpiozero pin factory loads: {exc}{detail}") from exc
    for w in caught:
        log.info("gpio: %s", w.message)
    log.info("gpio: %s ready in %.3f s", type(factory).__name__, time.monotonic() - started)
    return FactoryPins(factory, "linux")
