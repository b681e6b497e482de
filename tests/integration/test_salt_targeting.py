"""Every targeting form, across the Salt boundary both ways round."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from tests.fleet_harness import Master, Minion, free_ports
from tests.salt_peer import SaltMaster, SaltMinion, require_salt

pytestmark = pytest.mark.salt

NODEGROUPS = {"cars": "G@role:car", "pair": "L@edge-t1,edge-t2"}


@pytest.fixture(scope="module", autouse=True)
def _salt_installed() -> None:
    require_salt()


def test_stock_minions_on_our_master_match_every_form() -> None:
    master = Master(config={"nodegroups": NODEGROUPS})
    master.start()
    base = Path(tempfile.mkdtemp(prefix="sm-", dir="/tmp"))
    minions = [SaltMinion(base / mid, mid, master_port=master.ret_port, publish_port=master.publish_port,
                          extra={"grains": {"role": role}})
               for mid, role in (("stock-a", "car"), ("stock-b", "kiosk"))]
    try:
        for mn in minions:
            mn.start()
        master.accept("stock-a", "stock-b", timeout=60)
        master.wait_connected(2, timeout=60)
        deadline = time.monotonic() + 60  # grains reach the master's cache through _pillar
        while time.monotonic() < deadline:
            cached = json.loads(master.cli("fleet-run", "cache.grains", "--out", "json").stdout or "{}")
            if {"stock-a", "stock-b"} <= set(cached):
                break
            time.sleep(0.5)
        cases = [
            (["stock-*"], {"stock-a", "stock-b"}),
            (["-E", "stock-[a]"], {"stock-a"}),
            (["-L", "stock-b"], {"stock-b"}),
            (["-G", "role:car"], {"stock-a"}),
            (["-P", "role:k.*sk"], {"stock-b"}),
            (["-S", "127.0.0.0/8"], {"stock-a", "stock-b"}),
            (["-C", "G@role:kiosk or L@stock-a"], {"stock-a", "stock-b"}),
            (["-C", "stock-* and not G@role:car"], {"stock-b"}),
            (["-N", "cars"], {"stock-a"}),
        ]
        for target, expected in cases:
            preview = json.loads(master.fleet("--preview-target", *target, "--out", "json").stdout)
            assert set(preview["minions"]) == expected, (target, preview)
            data, proc = master.fleet_json(*target, "test.ping", timeout=60)
            assert set(data) == expected and all(v is True for v in data.values()), (target, data, proc.stderr)
    finally:
        for mn in minions:
            mn.stop(grace=0.5)
        master.cleanup()
        shutil.rmtree(base, ignore_errors=True)


def test_our_minions_under_a_stock_master_match_every_form() -> None:
    base = Path(tempfile.mkdtemp(prefix="sp-", dir="/tmp"))
    pub, ret = free_ports(2)
    ours: list[Minion] = []
    with SaltMaster(base, publish_port=pub, ret_port=ret, extra={"nodegroups": NODEGROUPS}) as sm:
        sm.start()
        sm.wait_ready(60)
        try:
            for mid, role in (("edge-t1", "car"), ("edge-t2", "kiosk")):
                mn = Minion(mid, master_port=ret, config={"grains": {"role": role}})
                mn.start()
                ours.append(mn)
                sm.accept(mid, timeout=60)
                mn.wait_log("minion ready", timeout=60)
            cases = [
                (["edge-*"], {"edge-t1", "edge-t2"}),
                (["-E", "edge-t[1]"], {"edge-t1"}),
                (["-L", "edge-t2"], {"edge-t2"}),
                (["-G", "role:car"], {"edge-t1"}),
                (["-P", "role:k.*sk"], {"edge-t2"}),
                (["-S", "127.0.0.1"], {"edge-t1", "edge-t2"}),
                (["-C", "G@role:kiosk or L@edge-t1"], {"edge-t1", "edge-t2"}),
                (["-C", "edge-* and not G@role:car"], {"edge-t2"}),
                (["-N", "cars"], {"edge-t1"}),
            ]
            for target, expected in cases:
                proc = sm.salt([*target, "test.ping"], timeout=90)
                data = json.loads(proc.stdout or "{}")
                assert set(data) == expected and all(v is True for v in data.values()), (target, proc.stdout,
                                                                                         proc.stderr)
        finally:
            for mn in ours:
                mn.cleanup()
    shutil.rmtree(base, ignore_errors=True)
