"""The real-Salt harness itself: a stock master and minion meet, answer, and leave nothing behind."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.portalloc import free_tcp_ports
from tests.salt_peer import SaltMaster, SaltMinion, require_salt, short_dir

pytestmark = [pytest.mark.salt, pytest.mark.timeout(120)]


def processes_mentioning(base: Path) -> list[str]:
    """Command lines of live processes that name ``base`` (every daemon is started with ``-c base``)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            cmdline = Path("/proc", entry, "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            continue
        if str(base) in cmdline:
            found.append(f"{entry}: {cmdline}")
    return found


def test_master_and_minion_answer_then_leave_nothing_running() -> None:
    require_salt()
    base = short_dir()
    try:
        pub, ret = free_tcp_ports(2)
        with SaltMaster(base / "m", publish_port=pub, ret_port=ret) as master, \
                SaltMinion(base / "n", "peer-1", master_port=ret, publish_port=pub) as minion:
            master.start()
            minion.start()
            master.wait_ready(60)
            master.accept("peer-1", timeout=60)
            minion.wait_ready(60)

            ping = master.salt(["*", "test.ping"], timeout=60)
            assert json.loads(ping.stdout) == {"peer-1": True}, ping.stdout + ping.stderr
            echo = master.salt(["peer-1", "test.echo", "hi"], timeout=60)
            assert json.loads(echo.stdout) == {"peer-1": "hi"}, echo.stdout + echo.stderr
            assert minion.rss_bytes() > 0
            daemons = [master, minion]
        for daemon in daemons:
            assert not daemon.running and daemon.alive_pids() == []
        assert processes_mentioning(base) == []
    finally:
        shutil.rmtree(base, ignore_errors=True)
