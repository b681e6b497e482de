"""Running one job and shaping its result the way a Salt minion returns it.

:func:`execute` never raises: whatever happens becomes an :class:`Outcome`
with Salt's ``return``, ``retcode``, ``success`` and ``out`` fields.

========================================  =============================================  =======
what happened                             ``return``                                     retcode
========================================  =============================================  =======
no such function / module unavailable     ``'x.y' is not available.`` (+ ``(reason)``)   1
arguments do not fit                      ``Passed invalid arguments to x.y: ...``       1
                                          plus a ``Usage:`` line
a :class:`DeviceError`                    ``ERROR: <message>``                           1
any other exception (a bug)               ``The minion function caused an exception:``   1
                                          and the traceback (also logged)
success                                   the function's return                          0 (*)
========================================  =============================================  =======

(*) As in Salt, a function may set the job's retcode: ours return
:class:`WithRetcode` (``cmd.*`` with the command's exit status, ``test.retcode``),
where Salt's write ``__context__["retcode"]``. Otherwise a dict return holding
a false ``result`` or ``success`` key gives retcode 1. ``success`` is
``retcode == 0``; every error sets ``out`` to ``"nested"``.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from device_modules import registry as _registry
from device_modules.args import split_args
from device_modules.errors import DeviceError, FunctionUnavailable, InvalidArguments
from device_modules.registry import Registry

__all__ = ["Outcome", "WithRetcode", "execute"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Salt's ``EX_GENERIC``: the retcode of every error return.
EX_GENERIC = 1


@dataclass(frozen=True)
class WithRetcode(Generic[T]):
    """A function's return ``value`` with the retcode the job should report."""

    value: T
    retcode: int


@dataclass(frozen=True)
class Outcome:
    """One job's result in Salt's ``_return`` shape."""

    return_: Any
    retcode: int
    success: bool
    out: str | None = None

    @classmethod
    def error(cls, message: str) -> Outcome:
        return cls(message, EX_GENERIC, False, "nested")


def execute(registry: Registry, fun: str, arg_list: list[Any]) -> Outcome:
    """Run ``fun`` with a Salt-style ``arg`` list through ``registry``; never raises."""
    try:
        fn = registry.get(fun)
        args, kwargs = split_args(fn, arg_list)
        value = registry.call(fun, args, kwargs)
    except FunctionUnavailable as exc:
        return Outcome.error(str(exc))
    except InvalidArguments as exc:
        message = _invalid_message(registry, fun, exc)
        log.warning("%s", message)
        return Outcome.error(message)
    except DeviceError as exc:
        log.error("%s failed: %s", fun, exc)
        return Outcome.error(f"ERROR: {exc}")
    except Exception as exc:
        log.exception("the minion function %s caused an exception", fun)
        return Outcome.error(f"The minion function caused an exception: {_traceback(exc)}")
    return _success(value)


def _traceback(exc: BaseException) -> str:
    """The traceback from the first frame outside this module and the registry (the function's own)."""
    ours = {__file__, _registry.__file__}
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None and tb.tb_frame.f_code.co_filename in ours:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def _success(value: Any) -> Outcome:
    if isinstance(value, WithRetcode):
        value, retcode = value.value, value.retcode
    else:
        retcode = 0
        if isinstance(value, dict) and not all(value.get(key, True) for key in ("result", "success")):
            retcode = EX_GENERIC
    return Outcome(value, retcode, retcode == 0)


def _invalid_message(registry: Registry, fun: str, exc: InvalidArguments) -> str:
    detail = str(exc).removeprefix(f"{fun}: ")
    if "\nUsage: " not in detail:
        try:
            detail = f"{detail}\nUsage: {registry.usage(fun)}"
        except DeviceError:
            pass
    return f"Passed invalid arguments to {fun}: {detail}"
