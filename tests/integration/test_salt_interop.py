"""Interoperability with real Salt 3008 from PyPI, both ways round, on loopback.

Real Salt lives in ``.salt-venv`` (``tools/setup`` builds it); these tests fail,
not skip, when it is missing.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator

import pytest

from tests.fleet_harness import Master, Minion, free_ports
from tests.salt_peer import SaltMaster, SaltMinion, require_salt

pytestmark = pytest.mark.salt


@pytest.fixture(scope="module", autouse=True)
def _salt_installed() -> None:
    require_salt()


@pytest.fixture
def salt_master() -> Iterator[SaltMaster]:
    import tempfile
    from pathlib import Path

    base = Path(tempfile.mkdtemp(prefix="sp-", dir="/tmp"))
    pub, ret = free_ports(2)
    with SaltMaster(base, publish_port=pub, ret_port=ret) as sm:
        sm.start()
        sm.wait_ready(60)
        yield sm
    shutil.rmtree(base, ignore_errors=True)


def salt_json(sm: SaltMaster, *args: str, timeout: float = 90) -> dict:  # type: ignore[type-arg]
    proc = sm.salt(list(args), timeout=timeout)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    try:
        return json.loads(proc.stdout)  # type: ignore[no-any-return]
    except json.JSONDecodeError as exc:
        raise AssertionError(f"salt printed no JSON:\n{proc.stdout}\n{proc.stderr}") from exc


# ---- a stock salt-minion on our master ------------------------------------------------------

@pytest.fixture
def stock_minion(master: Master) -> Iterator[SaltMinion]:
    import tempfile
    from pathlib import Path

    base = Path(tempfile.mkdtemp(prefix="sm-", dir="/tmp"))
    with SaltMinion(base, "stock-1", master_port=master.ret_port, publish_port=master.publish_port) as sm:
        sm.start()
        yield sm
    shutil.rmtree(base, ignore_errors=True)


def test_stock_minion_enrolls_and_answers(master: Master, stock_minion: SaltMinion) -> None:
    master.accept("stock-1", timeout=60)
    master.wait_connected(1, timeout=60)
    data, proc = master.fleet_json("*", "test.ping", timeout=60)
    assert data == {"stock-1": True}, proc.stderr
    data, proc = master.fleet_json("stock-1", "test.echo", "hi")
    assert data == {"stock-1": "hi"}
    # Its grains reached our cache through _pillar, so grain targeting works for it too.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        grains = json.loads(master.cli("fleet-run", "cache.grains", "stock-1", "--out", "json").stdout or "{}")
        if grains.get("stock-1", {}).get("id") == "stock-1":
            break
        time.sleep(0.5)
    assert grains["stock-1"]["id"] == "stock-1"


def test_stock_minion_long_job_reported_running_not_lost(master: Master, stock_minion: SaltMinion) -> None:
    master.accept("stock-1", timeout=60)
    master.wait_connected(1, timeout=60)
    proc = master.fleet("stock-1", "test.sleep", "6", "-t", "2", "--progress", "--out", "json", timeout=90)
    assert json.loads(proc.stdout) == {"stock-1": True}, proc.stdout + proc.stderr
    assert "still running on stock-1" in proc.stderr


# ---- our minion under a stock salt-master ---------------------------------------------------

@pytest.fixture
def edge_under_salt(salt_master: SaltMaster) -> Iterator[Minion]:
    mn = Minion("edge-1", master_port=salt_master.ret_port)
    mn.start()
    salt_master.accept("edge-1", timeout=60)
    mn.wait_authenticated(timeout=60)
    yield mn
    mn.cleanup()


def test_edge_minion_serves_a_stock_master(salt_master: SaltMaster, edge_under_salt: Minion) -> None:
    assert salt_json(salt_master, "*", "test.ping") == {"edge-1": True}
    assert salt_json(salt_master, "edge-1", "test.echo", "hi") == {"edge-1": "hi"}
    assert salt_json(salt_master, "edge-1", "cmd.run", "echo ok") == {"edge-1": "ok"}
    # Longer than Salt's 5 s timeout: our saltutil.find_job keeps the CLI waiting.
    assert salt_json(salt_master, "edge-1", "test.sleep", "12") == {"edge-1": True}


def test_edge_minion_survives_stock_master_restart(salt_master: SaltMaster, edge_under_salt: Minion) -> None:
    assert salt_json(salt_master, "edge-1", "test.ping") == {"edge-1": True}
    salt_master.restart()
    salt_master.wait_ready(60)
    deadline = time.monotonic() + 60
    data: dict = {}  # type: ignore[type-arg]
    while time.monotonic() < deadline:
        # A publish that beats the minion's re-authentication gets no return (salt exits 2): ask again.
        proc = salt_master.salt(["edge-1", "test.ping"], timeout=90)
        if proc.returncode in (0, 1):
            data = json.loads(proc.stdout)
            if data == {"edge-1": True}:
                break
    assert data == {"edge-1": True}, edge_under_salt.log_text()[-3000:]
    assert edge_under_salt.running, "the minion must not need a restart of its own"
