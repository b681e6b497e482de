"""``test.*``: checking that a device answers and that arguments arrive as meant."""

from __future__ import annotations

import platform
import sys
import time
from typing import Any

from device_modules.context import DeviceContext
from device_modules.errors import InvalidArguments
from device_modules.outcome import WithRetcode
from device_modules.spec import ModuleSpec

__all__ = ["MODULE"]

_DEPENDENCIES = ("pyzmq", "cryptography", "msgpack", "PyYAML", "psutil",
                 "gpiozero", "pyserial", "python-can", "can-isotp")


def ping(ctx: DeviceContext) -> bool:
    """Answer ``True``: the device is up and runs jobs. Not an ICMP ping.

    CLI Example::

        fleet '*' test.ping
    """
    ctx.log.debug("test.ping received for minion %r", ctx.minion_id)
    return True


def echo(ctx: DeviceContext, text: str) -> str:
    """Return ``text`` unchanged.

    CLI Example::

        fleet '*' test.echo 'hello fleet'
    """
    return text


def sleep(ctx: DeviceContext, length: float) -> bool:
    """Sleep ``length`` seconds, then return ``True``. Other jobs keep running meanwhile.

    CLI Example::

        fleet '*' test.sleep 20
    """
    if length < 0:
        raise InvalidArguments(f"length must not be negative, got {length!r}")
    time.sleep(length)
    return True


def version(ctx: DeviceContext) -> str:
    """The edgefleet version running on the device.

    CLI Example::

        fleet '*' test.version
    """
    return _installed("edgefleet")


def versions_information(ctx: DeviceContext) -> dict[str, dict[str, str]]:
    """Versions of edgefleet, its dependencies and the system, as a dict.

    CLI Example::

        fleet '*' test.versions_information
    """
    return {
        "Edgefleet Version": {"Edgefleet": _installed("edgefleet")},
        "Dependency Versions": {name: _installed(name) for name in _DEPENDENCIES},
        "System Versions": {
            "Python": sys.version.split()[0],
            "kernel": platform.release(),
            "machine": platform.machine(),
            "system": platform.system(),
        },
    }


def versions_report(ctx: DeviceContext) -> str:
    """The same as :func:`versions_information`, as aligned text lines.

    CLI Example::

        fleet '*' test.versions_report
    """
    lines: list[str] = []
    for section, entries in versions_information(ctx).items():
        lines.append(f"{section}:")
        width = max(len(name) for name in entries)
        lines.extend(f"{name.rjust(width + 1)}: {value}" for name, value in entries.items())
        lines.append("")
    return "\n".join(lines).rstrip()


def arg(ctx: DeviceContext, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Return the arguments received, to see how the command line was read.

    CLI Example::

        fleet '*' test.arg 1 two "'3'" four=4 five='[5]'
    """
    return {"args": list(args), "kwargs": kwargs}


def exception(ctx: DeviceContext, message: str = "Test Exception") -> None:
    """Raise an unexpected exception with ``message`` (tests the error return).

    CLI Example::

        fleet '*' test.exception 'oops'
    """
    raise RuntimeError(message)


def retcode(ctx: DeviceContext, code: int = 42) -> WithRetcode[bool]:
    """Return ``True`` with the job's retcode set to ``code``.

    CLI Example::

        fleet '*' test.retcode 3
    """
    return WithRetcode(True, code)


def fib(ctx: DeviceContext, num: int) -> list[float]:
    """The ``num``-th Fibonacci number and the seconds it took, as ``[value, seconds]``.

    CLI Example::

        fleet '*' test.fib 30
    """
    if num < 0:
        raise InvalidArguments(f"num must not be negative, got {num}")
    start = time.perf_counter()
    prev, curr = 0, 1
    for _ in range(num):
        prev, curr = curr, prev + curr
    return [prev, time.perf_counter() - start]


def _installed(distribution: str) -> str:
    import importlib.metadata  # only test.versions needs it, and it is heavy for an idle minion

    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "Not Installed"


MODULE = ModuleSpec(
    name="test",
    functions={
        "ping": ping,
        "echo": echo,
        "sleep": sleep,
        "version": version,
        "versions_information": versions_information,
        "versions_report": versions_report,
        "arg": arg,
        "exception": exception,
        "retcode": retcode,
        "fib": fib,
    },
    doc="Checking that a device answers and that arguments arrive as meant.",
    idempotent=frozenset({"ping", "echo", "sleep", "version", "versions_information",
                          "versions_report", "arg", "fib"}),
)
