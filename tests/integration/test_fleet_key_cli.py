"""fleet-key as a real subprocess on a real state directory."""

from __future__ import annotations

import json
import os
import pty
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloud_master.keystore import KeyStore, clean_key, generate_keypair

FLEET_KEY = str(Path(sys.executable).parent / "fleet-key")


@pytest.fixture(scope="module")
def pubs() -> tuple[str, str]:
    return clean_key(generate_keypair()[1]), clean_key(generate_keypair()[1])


@pytest.fixture
def state(tmp_path: Path, pubs: tuple[str, str]) -> Path:
    """A master state dir: master keys, two accepted, two pending, one rejected, one denied."""
    state_dir = tmp_path / "state"
    store = KeyStore(state_dir / "pki", state_dir / "cache")
    store.ensure_master_keys()
    for minion_id in ("pi-acc-1", "pi-acc-2"):
        store.decide(minion_id, pubs[0], auto_sign=True, auto_reject=False)
    store.decide("pi-acc-2", pubs[1], auto_sign=False, auto_reject=False)  # -> denied
    for minion_id in ("pi-new-1", "pi-new-2"):
        store.decide(minion_id, pubs[0], auto_sign=False, auto_reject=False)
    store.decide("bad-1", pubs[0], auto_sign=False, auto_reject=True)
    return state_dir


def env_for(state_dir: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEFLEET_")}
    if state_dir is not None:
        env["EDGEFLEET_STATE_DIR"] = str(state_dir)
    return env


def fleet_key(state_dir: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FLEET_KEY, *args], env=env_for(state_dir), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)


def fleet_key_on_tty(state_dir: Path, answer: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run with stdin on a pseudo-terminal and type ``answer``."""
    controller, terminal = pty.openpty()
    try:
        proc = subprocess.Popen([FLEET_KEY, *args], env=env_for(state_dir), stdin=terminal,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        os.write(controller, answer.encode())
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(controller)
        os.close(terminal)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def listing(state_dir: Path) -> dict[str, list[str]]:
    return KeyStore(state_dir / "pki").list()


def test_list_uses_salts_text_layout(state: Path) -> None:
    result = fleet_key(state, "-L")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("Accepted Keys:\npi-acc-1\npi-acc-2\nDenied Keys:\npi-acc-2\n"
                             "Unaccepted Keys:\npi-new-1\npi-new-2\nRejected Keys:\nbad-1\n")
    assert fleet_key(state).stdout == result.stdout  # listing is the default action


@pytest.mark.parametrize("out, parse", [("json", json.loads), ("yaml", yaml.safe_load)])
def test_list_as_json_and_yaml(state: Path, out: str, parse: Callable[[str], Any]) -> None:
    result = fleet_key(state, "-L", "--out", out)
    assert parse(result.stdout) == {"minions": ["pi-acc-1", "pi-acc-2"],
                                    "minions_pre": ["pi-new-1", "pi-new-2"],
                                    "minions_rejected": ["bad-1"], "minions_denied": ["pi-acc-2"]}


def test_accept_glob_with_yes(state: Path) -> None:
    result = fleet_key(state, "-a", "pi-new-*", "-y")
    assert result.returncode == 0, result.stderr
    assert "Key for minion pi-new-1 accepted.\nKey for minion pi-new-2 accepted.\n" in result.stdout
    assert listing(state)["minions"] == ["pi-acc-1", "pi-acc-2", "pi-new-1", "pi-new-2"]
    assert not (state / "cache" / ".dfn").exists()


def test_without_yes_and_without_a_terminal_nothing_changes(state: Path) -> None:
    result = fleet_key(state, "-A")
    assert result.returncode == 1
    assert "not a terminal" in result.stderr and "-y" in result.stderr
    assert listing(state)["minions_pre"] == ["pi-new-1", "pi-new-2"]


@pytest.mark.parametrize("answer, accepted", [("y\n", True), ("\n", True), ("n\n", False), ("", False)])
def test_accept_prompt_on_a_terminal(state: Path, answer: str, accepted: bool) -> None:
    result = fleet_key_on_tty(state, answer + ("\x04" if not answer else ""), "-a", "pi-new-1")
    assert "Proceed? [n/Y]" in result.stderr
    assert result.returncode == (0 if accepted else 1)
    assert ("pi-new-1" in listing(state)["minions"]) is accepted


def test_delete_prompt_defaults_to_no(state: Path) -> None:
    result = fleet_key_on_tty(state, "\n", "-d", "pi-acc-1")
    assert "Proceed? [N/y]" in result.stderr and result.returncode == 1
    assert "pi-acc-1" in listing(state)["minions"]


def test_reject_and_delete_request_aes_rotation(state: Path) -> None:
    dfn = state / "cache" / ".dfn"
    assert fleet_key(state, "-r", "pi-new-1", "-y").returncode == 0
    assert listing(state)["minions_rejected"] == ["bad-1", "pi-new-1"]
    assert dfn.exists()
    dfn.unlink()
    result = fleet_key(state, "-d", "pi-acc-2", "-y")
    assert result.returncode == 0 and "Key for minion pi-acc-2 deleted." in result.stdout
    assert "pi-acc-2" not in listing(state)["minions"] and listing(state)["minions_denied"] == []
    assert dfn.exists()


def test_reject_all_and_delete_all(state: Path) -> None:
    assert fleet_key(state, "-R", "-y").returncode == 0
    assert listing(state)["minions_pre"] == [] and listing(state)["minions"] == ["pi-acc-1", "pi-acc-2"]
    assert fleet_key(state, "-R", "-y", "--include-accepted").returncode == 0
    assert listing(state)["minions"] == []
    assert fleet_key(state, "-D", "-y").returncode == 0
    assert listing(state) == {"minions": [], "minions_pre": [], "minions_rejected": [], "minions_denied": []}


def test_unknown_id_is_an_error(state: Path) -> None:
    for flag in ("-a", "-r", "-d", "-f", "-p"):
        result = fleet_key(state, flag, "nobody", "-y")
        assert result.returncode == 1, flag
        assert '"nobody" does not match any' in result.stderr
    result = fleet_key(state, "-a", "pi-acc-1", "-y")  # already accepted: not pending
    assert result.returncode == 1 and "unaccepted" in result.stderr


def test_accept_all_with_nothing_pending_is_not_an_error(state: Path) -> None:
    fleet_key(state, "-A", "-y")
    result = fleet_key(state, "-A", "-y")
    assert result.returncode == 0 and "does not match any unaccepted keys" in result.stdout


def test_fingerprints(state: Path) -> None:
    store = KeyStore(state / "pki")
    result = fleet_key(state, "-f", "pi-new-1")
    assert result.stdout == f"Unaccepted Keys:\npi-new-1:  {store.fingerprint('pi-new-1')}\n"
    everything = fleet_key(state, "-F", "--out", "json")
    data = json.loads(everything.stdout)
    assert set(data) == {"local", "minions", "minions_pre", "minions_rejected", "minions_denied"}
    assert data["minions_denied"]["pi-acc-2"] == store.fingerprint("pi-acc-2", "denied")
    assert set(data["local"]) == {"master.pem", "master.pub"}
    text = fleet_key(state, "-F").stdout
    assert text.startswith("Local Keys:\nmaster.pem:  ")


def test_print_keys(state: Path, pubs: tuple[str, str]) -> None:
    result = fleet_key(state, "-p", "pi-acc-1")
    assert result.stdout == f"Accepted Keys:\npi-acc-1:  {pubs[0]}\n"
    printed = json.loads(fleet_key(state, "-P", "--out", "json").stdout)
    assert printed["minions_denied"] == {"pi-acc-2": pubs[1]}


def test_gen_keys(tmp_path: Path) -> None:
    result = fleet_key(None, "--gen-keys", "edge1", "--gen-keys-dir", str(tmp_path / "keys"))
    assert result.returncode == 0, result.stderr
    pem, pub = tmp_path / "keys" / "edge1.pem", tmp_path / "keys" / "edge1.pub"
    assert pem.read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert pub.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert stat.S_IMODE(pem.stat().st_mode) == 0o400
    again = fleet_key(None, "--gen-keys", "edge1", "--gen-keys-dir", str(tmp_path / "keys"))
    assert again.returncode == 1 and "already exists" in again.stderr


def test_preseed(tmp_path: Path, pubs: tuple[str, str]) -> None:
    state_dir = tmp_path / "fresh"  # preseeding works before the master ever ran
    (tmp_path / "pi.pub").write_text(pubs[1] + "\n")
    result = fleet_key(state_dir, "--preseed", "pi-9", str(tmp_path / "pi.pub"))
    assert result.returncode == 0, result.stderr
    assert KeyStore(state_dir / "pki").get_pub("pi-9") == pubs[1]
    (tmp_path / "junk.pub").write_text("junk")
    bad = fleet_key(state_dir, "--preseed", "pi-10", str(tmp_path / "junk.pub"))
    assert bad.returncode == 1 and "not a PEM public key" in bad.stderr
    missing = fleet_key(state_dir, "--preseed", "pi-11", str(tmp_path / "absent.pub"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr


def test_state_dir_from_flag_and_config_file(state: Path, tmp_path: Path) -> None:
    by_flag = subprocess.run([FLEET_KEY, "--state-dir", str(state), "-L", "--out", "json"],
                             env=env_for(tmp_path / "elsewhere"), capture_output=True, text=True)
    assert json.loads(by_flag.stdout)["minions_rejected"] == ["bad-1"]
    config = tmp_path / "master.yaml"
    config.write_text(f"state_dir: {state}\n")
    by_file = fleet_key(None, "-c", str(config), "-L", "--out", "json")
    assert json.loads(by_file.stdout)["minions_rejected"] == ["bad-1"]


def test_bad_config_and_missing_state_are_clear_errors(tmp_path: Path) -> None:
    config = tmp_path / "master.yaml"
    config.write_text("auto_acept: true\n")
    result = fleet_key(None, "-c", str(config), "-L")
    assert result.returncode == 1 and "unknown option 'auto_acept'" in result.stderr
    result = fleet_key(tmp_path / "nothing-here", "-L")
    assert result.returncode == 1 and "no master keys" in result.stderr


def test_help_and_list_do_not_import_cryptography(state: Path) -> None:
    for args in (["--help"], ["-L"]):
        result = subprocess.run([sys.executable, "-X", "importtime", "-m", "cloud_master.cli.key", *args],
                                env=env_for(state), capture_output=True, text=True)
        assert result.returncode == 0
        assert "cloud_master.cli.key" in result.stderr or "cloud_master" in result.stderr
        assert "cryptography" not in result.stderr, args
