"""The publish port lives in a child process of the master: it starts, fails, dies and restarts with it."""

from __future__ import annotations

import signal
import socket
import subprocess
import time

import psutil

from tests.fleet_harness import Master, tool


def _daemon(master: Master) -> psutil.Process:
    assert master.proc is not None
    end = time.monotonic() + 10
    while time.monotonic() < end:
        for child in psutil.Process(master.proc.pid).children():
            if "cloud_master.publish_daemon" in " ".join(child.cmdline()):
                return child
        time.sleep(0.05)
    raise AssertionError("no publish daemon under the master")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_daemon_leaves_with_its_master_even_after_sigkill(master: Master) -> None:
    daemon = _daemon(master)
    assert master.proc is not None
    master.proc.send_signal(signal.SIGKILL)
    master.proc.wait(10)
    daemon.wait(5)  # raises psutil.TimeoutExpired if it outlives its master
    end = time.monotonic() + 5
    while not _port_free(master.publish_port) and time.monotonic() < end:
        time.sleep(0.05)
    assert _port_free(master.publish_port)


def test_master_restarted_at_once_after_sigkill_binds_the_publish_port_again(master: Master, make_minion) -> None:  # type: ignore[no-untyped-def]
    mn = make_minion("pd-1")
    master.wait_connected(1)
    # Killed once the minion is idle: a request in flight at the kill would wait out its own timeout.
    mn.wait_log("minion ready")
    assert master.proc is not None
    master.proc.send_signal(signal.SIGKILL)  # the master alone: its daemon must notice and go
    master.proc.wait(10)
    master.stop()
    master.start()  # no pause: the new daemon waits for the old one's port
    mn.wait_log("re-authenticated with master", timeout=40)
    data, proc = master.fleet_json("pd-1", "test.ping", "-t", "40")
    assert data == {"pd-1": True}, proc.stderr


def test_a_dead_daemon_is_restarted_and_publishes_go_on(master: Master, make_minion) -> None:  # type: ignore[no-untyped-def]
    make_minion("pd-2")
    master.wait_connected(1)
    old = _daemon(master)
    old.kill()
    old.wait(5)
    master.wait_log("the publish daemon exited; restarting it", timeout=10)
    new = _daemon(master)
    assert new.pid != old.pid
    data, proc = master.fleet_json("pd-2", "test.ping", "-t", "40")
    assert data == {"pd-2": True}, proc.stderr


def test_publish_port_in_use_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with socket.socket() as s2:
            s2.bind(("127.0.0.1", 0))
            ret_port = s2.getsockname()[1]
        proc = subprocess.run(
            [tool("cloud-master"), "--state-dir", str(tmp_path / "state"), "--interface", "127.0.0.1",
             "--publish-port", str(port), "--ret-port", str(ret_port)],
            capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert f"127.0.0.1:{port}" in proc.stderr, proc.stderr
    assert "Address already in use" in proc.stderr, proc.stderr
