"""From a prepared image to an accepted minion, with no manual step and auto_accept off.

Each test prepares an image for a real master, runs the first-boot installer into a
scratch root (offline, from the bundle), starts the *installed* edge-minion with the
installed configuration, and watches the master accept it. Refusals (used-up and
expired tokens) leave the device pending with a log line on both sides.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.fleet_harness import Master, Minion, Process, short_dir
from tests.pi_image import REPO, extract_boot, fake_pi, host_bundle, make_pi_image, missing_tools, run_firstboot

pytestmark = pytest.mark.skipif(bool(missing_tools()), reason=f"needs {missing_tools()} (run tools/setup)")


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("enrol")


@pytest.fixture(scope="module")
def bundle(work: Path) -> Path:
    return host_bundle(work)


@pytest.fixture
def master() -> Iterator[Master]:
    m = Master(config={"auto_accept": False})
    m.start()
    yield m
    m.cleanup()


def install_device(work: Path, bundle: Path, master: Master, name: str, serial: str, *args: str) -> Path:
    """Prepare an image for ``master``, run its installer into a fresh root; returns the root."""
    out = work / f"{name}.img"
    (work / name).mkdir()
    proc = subprocess.run([sys.executable, "-m", "cloud_master.cli.image", "prepare",
                           str(make_pi_image(work / name, "bookworm")),
                           "-o", str(out), "--master", "127.0.0.1", "--master-port", str(master.ret_port),
                           "--arch", "x86_64", "--bundle", str(bundle), *args],
                          capture_output=True, text=True, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr
    boot = extract_boot(out, work / f"{name}-boot")
    root = work / f"{name}-root"
    result = run_firstboot(boot / "edgefleet", root, fake_pi(work / f"{name}-hw", serial))
    assert result.returncode == 0, result.stderr
    return root


def start_installed_minion(root: Path, serial: str | None = None) -> Process:
    """The installed program with the installed config; only the state dir is moved into the scratch root.

    This machine is not a Pi: ``serial`` stands in, as a static grain, for the serial number a Pi reports.
    """
    state = root / "var/lib/edgefleet/minion"
    config = root / "etc/edgefleet/minion.yaml"
    data = yaml.safe_load(config.read_text())
    data.update({"acceptance_wait_time": 0.5, "acceptance_wait_time_max": 2, "hardware": "sim"})
    if serial is not None:
        data.setdefault("grains", {})["serialnumber"] = serial
    config.write_text(yaml.safe_dump(data))  # faster retries for the test; same keys as on a Pi
    proc = Process([str(root / "opt/edgefleet/venv/bin/edge-minion"), "-c", str(config), "--state-dir", str(state),
                    "-l", "info"], root / "minion.log")
    proc.start()
    return proc


def keys(master: Master) -> dict[str, list[str]]:
    result: dict[str, list[str]] = json.loads(master.key("-L", "--out", "json").stdout)
    return result


def new_token(master: Master, *args: str) -> str:
    proc = master.key("--new-claim-token", "--out", "json", *args)
    assert proc.returncode == 0, proc.stderr
    token: str = json.loads(proc.stdout)["token"]
    return token


def test_preauthorised_key_is_accepted_on_first_contact(work: Path, bundle: Path, master: Master) -> None:
    root = install_device(work, bundle, master, "pre", "10000000aaaa0001", "--id", "pi-pre-1", "--preauth",
                          "--master-state-dir", str(master.state_dir))
    assert keys(master)["minions"] == ["pi-pre-1"]
    minion = start_installed_minion(root)
    try:
        minion.wait_log("authenticated with master", timeout=60)
        master.wait_connected(1)
        assert keys(master)["minions_pre"] == []
        assert "trusting master key" not in minion.log_text()  # pinned from the image, not trusted on first use
    finally:
        minion.stop()


def test_claim_token_enrols_applies_grains_and_is_wiped(work: Path, bundle: Path, master: Master) -> None:
    token = new_token(master, "--uses", "2", "--grains", "site=depot-9", "--serial-pattern", "10000000bbbb*")
    root = install_device(work, bundle, master, "claim", "10000000BBBB0002", "--id-from", "serial",
                          "--claim-token", token)
    state = root / "var/lib/edgefleet/minion"
    assert (state / "claim_token").is_file()
    minion = start_installed_minion(root, serial="10000000bbbb0002")
    try:
        minion.wait_log("authenticated with master", timeout=60)
        assert keys(master)["minions"] == ["pi-10000000bbbb0002"]
        master.wait_log("minion pi-10000000bbbb0002 enrolled with claim token")
        minion.wait_log("claim token used; removed")
        assert not (state / "claim_token").exists()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the held grains.setval job runs after sign-in
            grains_file = state / "grains.yaml"
            if grains_file.exists() and (yaml.safe_load(grains_file.read_text()) or {}).get("site") == "depot-9":
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"token grains never applied:\n{minion.log_text()[-3000:]}")
    finally:
        minion.stop()
    listing = json.loads(master.key("--list-claim-tokens", "--out", "json").stdout)["claim_tokens"]
    assert listing[0]["uses"] == 1 and listing[0]["claimed_by"] == ["pi-10000000bbbb0002"]


def claim_with(master: Master, minion_id: str, token: str) -> Minion:
    minion = Minion(minion_id, master, state_dir=short_dir(f"efn-{minion_id}-"), config={"claim_token": token})
    minion.start()
    return minion


def test_used_up_token_leaves_the_device_pending(master: Master) -> None:
    token = new_token(master, "--uses", "1")
    first = claim_with(master, "pi-first", token)
    second: Minion | None = None
    try:
        first.wait_authenticated()
        first.wait_log("claim token used; removed it from")
        assert "claim_token" not in (first.state_dir / "minion.yaml").read_text()
        second = claim_with(master, "pi-second", token)
        second.wait_log("key pending acceptance")
        master.wait_log("claim token refused for minion pi-second (serial unknown): used up")
        assert "presenting a claim token; if the master refuses it" in second.log_text()
        assert keys(master)["minions_pre"] == ["pi-second"]
        assert "authenticated with master" not in second.log_text()
    finally:
        for m in (first, second):
            if m is not None:
                m.cleanup()


def test_expired_token_leaves_the_device_pending(master: Master) -> None:
    token = new_token(master, "--expires", "1s")
    time.sleep(1.2)
    minion = claim_with(master, "pi-late", token)
    try:
        minion.wait_log("key pending acceptance")
        master.wait_log("claim token refused for minion pi-late (serial unknown): expired")
        assert keys(master)["minions_pre"] == ["pi-late"]
        assert (minion.state_dir / "minion.yaml").read_text().count("claim_token") == 1  # kept: not used
    finally:
        minion.cleanup()
