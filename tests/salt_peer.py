"""Real Salt daemons (salt-master, salt-minion from PyPI) as test and benchmark peers.

Salt lives in its own virtual environment (``tools/salt-env`` builds it; the
``EDGEFLEET_SALT_VENV`` environment variable points elsewhere). Each daemon gets a
config directory of its own, ``base_dir``, and every path Salt writes (keys, cache,
sockets, pid file, log) stays inside it; nothing touches ``/etc/salt``. Keep
``base_dir`` short, e.g. from :func:`short_dir`: Salt puts its ZeroMQ ipc sockets
under it and Unix socket paths are limited to 107 bytes.

Daemons run under their own session (``setsid``) and are stopped by process group,
SIGTERM then SIGKILL; everything still running is stopped at interpreter exit.
Failures raise :class:`SaltPeerError` (:class:`SaltPeerTimeout` for timeouts) whose
message ends with the tail of the daemon's log.
"""

from __future__ import annotations

import atexit
import os
import pwd
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

import yaml

__all__ = [
    "SaltMaster",
    "SaltMinion",
    "SaltPeerError",
    "SaltPeerTimeout",
    "require_salt",
    "salt_venv",
    "short_dir",
    "stop_all",
]

REPO = Path(__file__).resolve().parent.parent
UNIX_PATH_MAX = 107
# Longest ipc socket name Salt creates in sock_dir ("minion_event_<10 hex>_pub.ipc").
_LONGEST_SOCKET_NAME = 32
# Variables that would make Salt's interpreter load the project's packages instead of its own.
_PYTHON_ENV = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")
_LIVE: set[_SaltDaemon] = set()


class SaltPeerError(RuntimeError):
    """A real Salt daemon or CLI did not do what the harness asked."""


class SaltPeerTimeout(SaltPeerError, TimeoutError):
    """A real Salt daemon or CLI did not get there in time."""


def salt_venv() -> Path:
    """The virtual environment holding real Salt: ``$EDGEFLEET_SALT_VENV`` or ``<repo>/.salt-venv``."""
    return Path(os.environ.get("EDGEFLEET_SALT_VENV") or REPO / ".salt-venv")


def require_salt() -> Path:
    """Return :func:`salt_venv` if it holds the Salt daemons and CLIs.

    Raises:
        RuntimeError: Salt is not installed (tests must fail, not skip, without it).
    """
    venv = salt_venv()
    tools = ("salt-master", "salt-minion", "salt", "salt-key", "salt-run")
    if not all(os.access(venv / "bin" / tool, os.X_OK) for tool in tools):
        raise RuntimeError("real Salt is not installed: run tools/salt-env")
    return venv


def short_dir(prefix: str = "sp-") -> Path:
    """A new empty directory such as ``/tmp/sp-k2j4x8`` (the caller removes it)."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


def _salt_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _PYTHON_ENV}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _live_groups() -> dict[int, list[int]]:
    """Process group id -> live (not zombie) processes in it, from one pass over /proc."""
    groups: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path("/proc", entry, "stat").read_text()
        except OSError:
            continue
        # Fields after the command name, which may hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] not in ("Z", "X"):
            groups.setdefault(int(fields[2]), []).append(int(entry))
    return groups


def stop_all(daemons: Iterable[_SaltDaemon], grace: float = 10.0) -> None:
    """Stop several daemons at once: SIGTERM to every process group, SIGKILL after ``grace`` seconds.

    A salt-minion spends 5 s in its SIGTERM handler before exiting, so stopping many
    one by one is slow; this overlaps them.

    Raises:
        SaltPeerError: a process survived SIGKILL.
    """
    procs = {d: d._proc for d in daemons if d._proc is not None and not d._stopped}
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        deadline = time.monotonic() + wait
        for proc in procs.values():
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
        while (live := _live_groups().keys() & {p.pid for p in procs.values()}) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not live:
            break
    for daemon, proc in procs.items():
        proc.wait(10)
        daemon._stopped = True
        _LIVE.discard(daemon)
        # A stale pid file naming a live process makes the next start refuse to run.
        Path(daemon.config["pidfile"]).unlink(missing_ok=True)
    if live:
        raise SaltPeerError(f"process groups {sorted(live)} survived SIGKILL")


def _rss_bytes(pid: int) -> int:
    try:
        resident_pages = int(Path("/proc", str(pid), "statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"({path} does not exist)"
    return "\n".join(text.splitlines()[-lines:])


class _SaltDaemon:
    """One Salt daemon in ``base_dir``: config, process group, log."""

    role: ClassVar[str]

    def __init__(self, base_dir: Path, settings: dict[str, Any], extra: dict[str, Any] | None) -> None:
        self.base_dir = Path(base_dir).absolute()
        sock_dir = self.base_dir / "sock"
        if len(str(sock_dir)) + 1 + _LONGEST_SOCKET_NAME > UNIX_PATH_MAX:
            raise ValueError(f"{self.base_dir} is too long for Salt's ipc sockets; use short_dir()")
        b = self.base_dir
        self.config: dict[str, Any] = {
            "root_dir": str(b),
            "pki_dir": str(b / "pki"),
            "cachedir": str(b / "cache"),
            "sock_dir": str(sock_dir),
            "pidfile": str(b / f"{self.role}.pid"),
            "log_file": str(b / f"{self.role}.log"),
            "log_level_logfile": "info",
            "user": pwd.getpwuid(os.geteuid()).pw_name,
            **settings,
            **(extra or {}),
        }
        self.config_path = b / self.role
        self.log_path = Path(self.config["log_file"])
        self.console_path = b / f"{self.role}.console"
        self.pki_dir = Path(self.config["pki_dir"])
        self.started_at: float | None = None
        self._log_start = 0
        self._proc: subprocess.Popen[bytes] | None = None
        # Once stopped the group id may be reused by an unrelated process: never signal it again.
        self._stopped = False

    def _argv(self) -> list[str]:
        return [str(require_salt() / "bin" / f"salt-{self.role}"), "-c", str(self.base_dir), "-l", "info"]

    def start(self) -> None:
        """Write the config file and launch the daemon in a new session."""
        if self.running:
            raise SaltPeerError(f"salt-{self.role} in {self.base_dir} is already running")
        argv = self._argv()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self._log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.config_path.write_text(yaml.safe_dump(self.config, default_flow_style=False))
        with self.console_path.open("ab") as console:
            self._proc = subprocess.Popen(argv, cwd=self.base_dir, env=_salt_env(), stdin=subprocess.DEVNULL,
                                          stdout=console, stderr=subprocess.STDOUT, start_new_session=True)
        self.started_at = time.monotonic()
        self._stopped = False
        _LIVE.add(self)

    def stop(self, grace: float = 10.0) -> None:
        """Stop the whole process group: SIGTERM, then SIGKILL after ``grace`` seconds."""
        stop_all([self], grace)

    def restart(self) -> None:
        """:meth:`stop` then :meth:`start`; keys and cache in ``base_dir`` are kept."""
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        """True while the daemon's main process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int:
        """The main process id of the last :meth:`start`, which is also its process group id."""
        if self._proc is None:
            raise SaltPeerError(f"salt-{self.role} in {self.base_dir} is not started")
        return self._proc.pid

    def alive_pids(self) -> list[int]:
        """Live processes in the process group of the last :meth:`start`; empty once stopped."""
        return [] if self._proc is None else _live_groups().get(self._proc.pid, [])

    def rss_bytes(self) -> int:
        """Resident memory of all the daemon's processes together."""
        return sum(_rss_bytes(pid) for pid in self.alive_pids())

    def log_text(self) -> str:
        """The daemon's log file so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def _log_since_start(self) -> str:
        try:
            with self.log_path.open("rb") as fh:
                fh.seek(self._log_start)
                return fh.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the log file and of the console output, for error messages."""
        return (f"--- {self.log_path} ---\n{_tail(self.log_path, lines)}\n"
                f"--- {self.console_path} ---\n{_tail(self.console_path, lines // 2)}")

    def wait_for(self, text: str, timeout: float) -> None:
        """Wait until ``text`` appears in what the log file gained since the last :meth:`start`.

        Raises:
            SaltPeerError: the daemon exited first.
            SaltPeerTimeout: ``text`` did not appear within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while text not in self._log_since_start():
            self._check_alive(f"waiting for {text!r}")
            if time.monotonic() > deadline:
                raise SaltPeerTimeout(f"{text!r} not in salt-{self.role} log after {timeout}s\n{self.log_tail()}")
            time.sleep(0.1)

    def _check_alive(self, doing: str) -> None:
        if not self.running:
            code = None if self._proc is None else self._proc.returncode
            raise SaltPeerError(f"salt-{self.role} is not running (exit code {code}) while {doing}\n{self.log_tail()}")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


class SaltMaster(_SaltDaemon):
    """A real salt-master on 127.0.0.1 with its state in ``base_dir``.

    ``extra`` settings override the defaults written to ``<base_dir>/master``.
    """

    role = "master"

    def __init__(self, base_dir: Path, publish_port: int, ret_port: int, auto_accept: bool = False,
                 extra: dict[str, Any] | None = None) -> None:
        b = Path(base_dir).absolute()
        settings = {
            "interface": "127.0.0.1",
            "publish_port": publish_port,
            "ret_port": ret_port,
            "auto_accept": auto_accept,
            # Salt's defaults, written down so tests do not move when Salt's do.
            "timeout": 5,
            "gather_job_timeout": 10,
            "keep_jobs_seconds": 3600,
            # Salt's default of 5 request workers all load their modules at once after
            # start-up; on a 2-core machine that stalls the first minion's sign-in by
            # about 10 s. Benchmarks against stock Salt pass {"worker_threads": 5}.
            "worker_threads": 2,
            "file_roots": {"base": [str(b / "srv" / "salt")]},
            "pillar_roots": {"base": [str(b / "srv" / "pillar")]},
        }
        super().__init__(b, settings, extra)
        self.publish_port = int(self.config["publish_port"])
        self.ret_port = int(self.config["ret_port"])
        self.master_pub_path = self.pki_dir / "master.pub"
        self.file_root = b / "srv" / "salt"
        self.ready_after: float | None = None

    def start(self) -> None:
        self.file_root.mkdir(parents=True, exist_ok=True)
        (self.base_dir / "srv" / "pillar").mkdir(parents=True, exist_ok=True)
        self.ready_after = None
        super().start()

    def wait_ready(self, timeout: float = 60) -> None:
        """Wait until the ret port accepts connections and ``salt-key -L`` works.

        Sets :attr:`ready_after` to the seconds since :meth:`start`.

        Raises:
            SaltPeerError: the master exited first.
            SaltPeerTimeout: not ready within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive("waiting for it to be ready")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SaltPeerTimeout(f"salt-master not ready after {timeout}s\n{self.log_tail()}")
            try:
                socket.create_connection((self.config["interface"], self.ret_port), timeout=0.5).close()
            except OSError:
                time.sleep(0.1)
                continue
            if self._run("salt-key", ["-L"], max(remaining, 1)).returncode == 0:
                self.ready_after = time.monotonic() - (self.started_at or 0.0)
                return
            time.sleep(0.2)

    def salt(self, args: Sequence[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run ``salt -c <base> --out json --static ARGS``; the caller checks the exit code.

        In Salt 3008 ``--static`` runs the CLI's batch mode: it pings the target first,
        then publishes to the minions that answered (as a list target). A minion that
        does not answer is left out of the JSON, the exit code stays 0, and the call
        costs ``timeout`` + ``gather_job_timeout`` (about 15 s).
        """
        return self._run("salt", ["--out", "json", "--static", *args], timeout)

    def salt_key(self, args: Sequence[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run ``salt-key -c <base> ARGS`` (pass ``--out json`` for machine-readable output)."""
        return self._run("salt-key", args, timeout)

    def salt_run(self, args: Sequence[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run ``salt-run -c <base> --out json ARGS``."""
        return self._run("salt-run", ["--out", "json", *args], timeout)

    def accept(self, minion_id: str, timeout: float = 60) -> None:
        """Wait until ``minion_id``'s key is pending, then accept it (no-op if already accepted).

        Raises:
            SaltPeerError: the master exited, or ``salt-key`` failed to accept.
            SaltPeerTimeout: the key did not arrive within ``timeout`` seconds.
        """
        # Salt writes key files by atomic rename, so polling them is safe and far
        # cheaper than ``salt-key -l pre`` (0.7 s of interpreter start-up per call).
        pending = self.pki_dir / "minions_pre" / minion_id
        accepted = self.pki_dir / "minions" / minion_id
        deadline = time.monotonic() + timeout
        while not pending.exists():
            if accepted.exists():
                return
            self._check_alive(f"waiting for {minion_id}'s key")
            if time.monotonic() > deadline:
                raise SaltPeerTimeout(f"no key from {minion_id} after {timeout}s\n{self.log_tail()}")
            time.sleep(0.1)
        proc = self.salt_key(["-y", "-a", minion_id])
        if not accepted.exists():
            raise SaltPeerError(f"salt-key -a {minion_id} failed:\n{proc.stdout}{proc.stderr}\n{self.log_tail()}")

    def _run(self, tool: str, args: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
        argv = [str(require_salt() / "bin" / tool), "-c", str(self.base_dir), *args]
        try:
            return subprocess.run(argv, env=_salt_env(), stdin=subprocess.DEVNULL, capture_output=True,
                                  text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise SaltPeerTimeout(f"{' '.join(argv)} took over {timeout}s\n{self.log_tail()}") from exc


class SaltMinion(_SaltDaemon):
    """A real salt-minion (one process: ``--disable-keepalive``, no multiprocessing).

    ``extra`` settings override the defaults written to ``<base_dir>/minion``.
    """

    role = "minion"
    READY = "Minion is ready to receive requests!"

    def __init__(self, base_dir: Path, minion_id: str, *, master_port: int, publish_port: int,
                 master_host: str = "127.0.0.1", extra: dict[str, Any] | None = None) -> None:
        settings = {
            "id": minion_id,
            "master": master_host,
            "master_port": master_port,
            "publish_port": publish_port,
            "acceptance_wait_time": 1,
            "multiprocessing": False,
            "enable_fqdns_grains": False,
            "enable_gpu_grains": False,
            "mine_enabled": False,
            "file_client": "remote",
        }
        super().__init__(base_dir, settings, extra)
        self.minion_id = minion_id

    def _argv(self) -> list[str]:
        return [*super()._argv(), "--disable-keepalive"]

    def wait_ready(self, timeout: float = 60) -> None:
        """Wait until the minion is authenticated and listening for jobs (its key must be accepted)."""
        self.wait_for(self.READY, timeout)


def _stop_all() -> None:
    try:
        stop_all(list(_LIVE), grace=5.0)
    except SaltPeerError:
        pass


atexit.register(_stop_all)
