"""Real edgefleet processes for tests and benchmarks: a master, minions, and the CLIs.

Every process listens on 127.0.0.1 with ports from :func:`free_ports`; state
lives in short directories under /tmp (ipc socket paths are limited to 107
bytes). Everything started is stopped at exit even if a test fails.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
_LIVE: set[subprocess.Popen[bytes]] = set()
_HANDED_OUT: set[int] = set()


def _cleanup() -> None:
    for proc in list(_LIVE):
        _kill(proc)


atexit.register(_cleanup)


def _kill(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(grace)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(5)
    _LIVE.discard(proc)


def free_ports(n: int) -> list[int]:
    """``n`` TCP ports free on 127.0.0.1, never handed out twice in one run."""
    ports: list[int] = []
    while len(ports) < n:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            ports.append(port)
    return ports


def short_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        raise RuntimeError(f"{path} missing: run tools/setup")
    return str(path)


class Process:
    """A daemon started in its own process group with its log in a file."""

    def __init__(self, argv: Sequence[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.argv = list(argv)
        self.log = log
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        fh = open(self.log, "ab")  # noqa: SIM115 - owned by the child
        self.proc = subprocess.Popen(self.argv, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True,
                                     env={**os.environ, **(self.env or {})})
        fh.close()
        _LIVE.add(self.proc)

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        if self.proc is None:
            return None
        if sig == signal.SIGKILL and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        _kill(self.proc)
        code = self.proc.returncode
        self.proc = None
        return code

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, text: str, timeout: float = 20.0, count: int = 1) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.log_text().count(text) >= count:
                return
            if not self.running:
                break
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not seen in {self.log} within {timeout}s:\n{self.log_text()[-3000:]}")


class Master(Process):
    def __init__(self, state_dir: Path | None = None, ports: tuple[int, int] | None = None,
                 config: dict[str, Any] | None = None) -> None:
        self.state_dir = state_dir or short_dir("efm-")
        self.publish_port, self.ret_port = ports or tuple(free_ports(2))  # type: ignore[assignment]
        self.config_path = self.state_dir / "master.yaml"
        import yaml

        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(yaml.safe_dump(config or {}))
        super().__init__(
            [tool("cloud-master"), "-c", str(self.config_path), "--state-dir", str(self.state_dir),
             "--interface", "127.0.0.1", "--publish-port", str(self.publish_port),
             "--ret-port", str(self.ret_port), "-l", "info"],
            self.state_dir / "master.log",
        )

    def start(self, wait: bool = True) -> None:
        before = self.log_text().count("master listening")
        super().start()
        if wait:
            self.wait_log("master listening", count=before + 1)

    def cli(self, name: str, *args: str, timeout: float = 60.0,
            check: bool = False) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([tool(name), "--state-dir", str(self.state_dir), *args], capture_output=True,
                              text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"{name} {args} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def fleet(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        return self.cli("fleet", *args, timeout=timeout)

    def fleet_json(self, *args: str, timeout: float = 60.0
                   ) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
        proc = self.fleet(*args, "--out", "json", timeout=timeout)
        try:
            return json.loads(proc.stdout), proc
        except json.JSONDecodeError as exc:
            raise AssertionError(f"fleet printed no JSON (exit {proc.returncode}):\n{proc.stdout}\n"
                                 f"{proc.stderr}") from exc

    def key(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.cli("fleet-key", *args)

    def accept(self, *minion_ids: str, timeout: float = 20.0) -> None:
        """Wait for each key to be pending, then accept it."""
        end = time.monotonic() + timeout
        for mid in minion_ids:
            while True:
                listing = json.loads(self.key("-L", "--out", "json").stdout or "{}")
                if mid in listing.get("minions_pre", []):
                    break
                if mid in listing.get("minions", []):
                    break
                if time.monotonic() > end:
                    raise AssertionError(f"{mid} never became pending: {listing}\n{self.log_text()[-2000:]}")
                time.sleep(0.1)
            self.key("-y", "-a", mid)

    def wait_connected(self, count: int, timeout: float = 30.0) -> None:
        """Wait until ``count`` minions are connected (per the master's presence)."""
        from cloud_master.control import ControlClient

        end = time.monotonic() + timeout
        last: dict[str, Any] = {}
        while time.monotonic() < end:
            try:
                client = ControlClient(self.state_dir / "sock")
                last = client.call({"cmd": "ping"}, timeout=5)
                client.close()
                if last.get("connected", 0) >= count:
                    return
            except Exception as exc:  # master still starting
                last = {"error": str(exc)}
            time.sleep(0.1)
        raise AssertionError(f"only {last} connected after {timeout}s")

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.state_dir, ignore_errors=True)


class Minion(Process):
    def __init__(self, minion_id: str, master: Master | None = None, *, master_host: str = "127.0.0.1",
                 master_port: int | None = None, state_dir: Path | None = None,
                 config: dict[str, Any] | None = None, program: str | None = None) -> None:
        """``program``: the edge-minion executable (default: the development venv's)."""
        import yaml

        self.minion_id = minion_id
        self.state_dir = state_dir or short_dir(f"efn-{minion_id}-")
        port = master_port if master_port is not None else (master.ret_port if master else 4506)
        base = {"acceptance_wait_time": 0.5, "acceptance_wait_time_max": 2, "backoff_base": 0.2,
                "backoff_cap": 2, "random_reauth_delay": 0.5, "heartbeat_interval": 5, "hardware": "sim"}
        base.update(config or {})
        self.config_path = self.state_dir / "minion.yaml"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(yaml.safe_dump(base))
        super().__init__(
            [program or tool("edge-minion"), "-c", str(self.config_path), "--id", minion_id, "--master", master_host,
             "--master-port", str(port), "--state-dir", str(self.state_dir), "-l", "info"],
            self.state_dir / "minion.log",
        )

    def wait_authenticated(self, timeout: float = 30.0, count: int = 1) -> None:
        self.wait_log("authenticated with master", timeout, count)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.state_dir, ignore_errors=True)
