"""``cmd.*``: running shell commands on the device.

Every function sets the job's retcode to the command's exit status, as Salt's
``cmd`` module does, unless ``ignore_retcode=True``. Output is decoded as UTF-8
(undecodable bytes replaced) and trailing whitespace is stripped.

A command runs in its own session; on ``timeout`` the whole process group is
killed, so a shell's children die with it.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from device_modules.context import DeviceContext
from device_modules.errors import DeviceError, DeviceTimeout, InvalidArguments
from device_modules.outcome import WithRetcode
from device_modules.spec import ModuleSpec

__all__ = ["MODULE"]

#: Seconds to wait for output after killing a timed-out process group.
_REAP_SECONDS = 5.0


@dataclass(frozen=True)
class _Command:
    cmd: str
    cwd: str | None
    env: dict[str, Any] | None
    timeout: float | None
    stdin: str | None
    python_shell: bool
    merge_stderr: bool


@dataclass(frozen=True)
class _Result:
    pid: int
    retcode: int
    stdout: str
    stderr: str


def _run(ctx: DeviceContext, command: _Command) -> _Result:
    argv = _argv(command)
    cwd = _cwd(command.cwd)
    env = dict(os.environ)
    env.update({str(k): str(v) for k, v in (command.env or {}).items()})
    ctx.log.debug("cmd: running %r in %s", command.cmd, cwd or os.getcwd())
    try:
        proc = subprocess.Popen(  # noqa: S603 - running commands is this module's purpose
            argv, shell=command.python_shell, cwd=cwd, env=env, start_new_session=True,
            stdin=subprocess.PIPE if command.stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if command.merge_stderr else subprocess.PIPE,
        )
    except OSError as exc:
        raise DeviceError(f"unable to run {command.cmd!r}: {exc.strerror or exc}") from exc
    data = command.stdin.encode() if command.stdin is not None else None
    try:
        out, err = proc.communicate(data, timeout=command.timeout)
    except subprocess.TimeoutExpired as exc:
        _kill_group(proc)
        raise DeviceTimeout(f"command {command.cmd!r} timed out after {command.timeout:g} s "
                            f"and was killed (process group {proc.pid})") from exc
    return _Result(proc.pid, proc.returncode, _text(out), _text(err))


def _argv(command: _Command) -> str | list[str]:
    if command.python_shell:
        return command.cmd
    try:
        argv = shlex.split(command.cmd)
    except ValueError as exc:
        raise InvalidArguments(f"cannot split {command.cmd!r} into words: {exc}") from exc
    if not argv:
        raise InvalidArguments("empty command")
    return argv


def _cwd(cwd: str | None) -> str | None:
    if cwd is None:
        return None
    path = Path(cwd).expanduser()
    if not path.is_absolute() or not path.is_dir():
        raise InvalidArguments(f"cwd {cwd!r} is not an existing absolute directory")
    return str(path)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # already gone
    try:
        proc.communicate(timeout=_REAP_SECONDS)
    except subprocess.TimeoutExpired:
        pass  # a child left the group and holds the pipe; the process itself is reaped below
    proc.wait()


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", errors="replace").rstrip()


def run(ctx: DeviceContext, cmd: str, cwd: str | None = None, *, env: dict[str, Any] | None = None,
        timeout: float | None = None, stdin: str | None = None, python_shell: bool = True,
        ignore_retcode: bool = False) -> WithRetcode[str]:
    """Run ``cmd`` and return its output, stderr merged into stdout.

    ``cwd`` must be an existing absolute directory; ``env`` adds variables to
    the minion's environment; ``stdin`` is fed to the command; with
    ``python_shell=False`` the command is split into words and run without a
    shell. ``timeout`` is in seconds.

    Raises:
        InvalidArguments: ``cwd`` does not exist or ``cmd`` cannot be split.
        DeviceTimeout: the command outlived ``timeout`` (its process group was killed).
        DeviceError: the program could not be started.

    CLI Example::

        fleet '*' cmd.run 'uptime'
        fleet '*' cmd.run 'ls -l' cwd=/var/log timeout=10
    """
    result = _run(ctx, _Command(cmd, cwd, env, timeout, stdin, python_shell, merge_stderr=True))
    return WithRetcode(result.stdout, 0 if ignore_retcode else result.retcode)


def run_all(ctx: DeviceContext, cmd: str, cwd: str | None = None, *, env: dict[str, Any] | None = None,
            timeout: float | None = None, stdin: str | None = None, python_shell: bool = True,
            ignore_retcode: bool = False) -> WithRetcode[dict[str, Any]]:
    """Run ``cmd`` and return ``{"pid", "retcode", "stdout", "stderr"}``.

    Arguments and errors as for ``cmd.run``; stderr is kept apart.

    CLI Example::

        fleet '*' cmd.run_all 'vcgencmd measure_temp'
    """
    result = _run(ctx, _Command(cmd, cwd, env, timeout, stdin, python_shell, merge_stderr=False))
    ret = {"pid": result.pid, "retcode": result.retcode, "stdout": result.stdout, "stderr": result.stderr}
    return WithRetcode(ret, 0 if ignore_retcode else result.retcode)


def retcode(ctx: DeviceContext, cmd: str, cwd: str | None = None, *, env: dict[str, Any] | None = None,
            timeout: float | None = None, stdin: str | None = None, python_shell: bool = True,
            ignore_retcode: bool = False) -> WithRetcode[int]:
    """Run ``cmd`` and return only its exit status.

    Arguments and errors as for ``cmd.run``.

    CLI Example::

        fleet '*' cmd.retcode 'systemctl is-active ssh'
    """
    result = _run(ctx, _Command(cmd, cwd, env, timeout, stdin, python_shell, merge_stderr=True))
    return WithRetcode(result.retcode, 0 if ignore_retcode else result.retcode)


def shell(ctx: DeviceContext, cmd: str, cwd: str | None = None, *, env: dict[str, Any] | None = None,
          timeout: float | None = None, stdin: str | None = None,
          ignore_retcode: bool = False) -> WithRetcode[str]:
    """Run ``cmd`` through ``/bin/sh`` (pipes, globs, ``&&``) and return its output.

    ``cmd.run`` with ``python_shell=True`` always; other arguments as for ``cmd.run``.

    CLI Example::

        fleet '*' cmd.shell 'dmesg | tail -n 5'
    """
    return run(ctx, cmd, cwd, env=env, timeout=timeout, stdin=stdin, python_shell=True,
               ignore_retcode=ignore_retcode)


MODULE = ModuleSpec(
    name="cmd",
    functions={"run": run, "run_all": run_all, "retcode": retcode, "shell": shell},
    doc="Running shell commands on the device.",
)
