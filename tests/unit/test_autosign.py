"""Autosign / autoreject, as Salt's AutoKey: lists, permissions, grains, stubs."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from cloud_master.autosign import check_autoreject, check_autosign, expr_match
from cloud_master.config import MasterConfig


def config(tmp_path: Path, **options: object) -> MasterConfig:
    return MasterConfig(state_dir=tmp_path / "state", **options)  # type: ignore[arg-type]


def list_file(tmp_path: Path, text: str, mode: int = 0o644, name: str = "autosign.conf") -> Path:
    path = tmp_path / name
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_nothing_configured_signs_nothing(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    assert not check_autosign(cfg, "pi-1", {"uuid": "x"})
    assert not check_autoreject(cfg, "pi-1")


def test_auto_accept_signs_everything(tmp_path: Path) -> None:
    assert check_autosign(config(tmp_path, auto_accept=True), "anything")


@pytest.mark.parametrize("line, minion_id, expected", [
    ("pi-1", "pi-1", True),            # exact
    ("pi-*", "pi-17", True),           # glob
    ("pi-?", "pi-17", False),
    ("sensor-[0-9]", "sensor-4", True),
    (r"web-\d+", "web-12", True),       # regex
    (r"web-\d+", "xweb-12", False),     # anchored at the start...
    (r"web-\d+", "web-12x", False),     # ...and at the end
    ("web", "web1", False),
    ("a|b", "b", True),                # alternation stays inside the anchors
    ("a|b", "xb", False),
    ("a|b", "ax", False),              # stricter than Salt, whose "\Aa|b\Z" accepts "ax"
    ("[", "[", True),                  # an invalid regex still matches exactly
    ("(", "x", False),                 # and never raises
])
def test_expr_match(line: str, minion_id: str, expected: bool) -> None:
    assert expr_match(minion_id, line) is expected


def test_autosign_file_lines_comments_and_blanks(tmp_path: Path) -> None:
    path = list_file(tmp_path, "# fleet\n\n   \n  pi-*  \n#sensor-*\n")
    cfg = config(tmp_path, autosign_file=path)
    assert check_autosign(cfg, "pi-3")
    assert not check_autosign(cfg, "sensor-1")
    assert not check_autosign(cfg, "")


def test_missing_autosign_file_signs_nothing(tmp_path: Path) -> None:
    assert not check_autosign(config(tmp_path, autosign_file=tmp_path / "absent"), "pi-1")


@pytest.mark.parametrize("mode, permissive, expected", [
    (0o644, False, True),
    (0o600, False, True),
    (0o664, False, False),  # group-writable: ignored...
    (0o664, True, True),    # ...unless permissive_pki_access
    (0o646, False, False),  # other-writable: always ignored
    (0o666, True, False),
])
def test_list_file_permissions(tmp_path: Path, mode: int, permissive: bool, expected: bool) -> None:
    path = list_file(tmp_path, "pi-*\n", mode)
    cfg = config(tmp_path, autosign_file=path, autoreject_file=path, permissive_pki_access=permissive)
    assert check_autosign(cfg, "pi-1") is expected
    assert check_autoreject(cfg, "pi-1") is expected


def test_autoreject_file(tmp_path: Path) -> None:
    path = list_file(tmp_path, "bad-*\n", name="autoreject.conf")
    cfg = config(tmp_path, autoreject_file=path)
    assert check_autoreject(cfg, "bad-7")
    assert not check_autoreject(cfg, "good-7")
    assert not check_autosign(cfg, "bad-7")


def grains_dir(tmp_path: Path, mode: int = 0o644, **grains: str) -> Path:
    directory = tmp_path / "autosign_grains"
    directory.mkdir(exist_ok=True)
    for name, text in grains.items():
        list_file(directory, text, mode, name=name)
    return directory


def test_grains_listed_values_sign(tmp_path: Path) -> None:
    cfg = config(tmp_path, autosign_grains_dir=grains_dir(
        tmp_path, uuid="# known boards\n1111-aaaa\n  2222-bbbb  \n", serial="42\n"))
    assert check_autosign(cfg, "pi-1", {"uuid": "2222-bbbb"})
    assert check_autosign(cfg, "pi-1", {"uuid": "nope", "serial": 42})  # compared as str(value)
    assert not check_autosign(cfg, "pi-1", {"uuid": "nope"})
    assert not check_autosign(cfg, "pi-1", {"os": "1111-aaaa"})  # no file for that grain
    assert not check_autosign(cfg, "pi-1", None)
    assert not check_autosign(cfg, "pi-1", {"uuid": "# known boards"})


def test_a_grain_the_minion_lacks_never_matches(tmp_path: Path) -> None:
    cfg = config(tmp_path, autosign_grains_dir=grains_dir(tmp_path, uuid="None\n"))
    assert not check_autosign(cfg, "pi-1", {"uuid": None})


def test_grain_files_with_loose_permissions_are_ignored(tmp_path: Path) -> None:
    cfg = config(tmp_path, autosign_grains_dir=grains_dir(tmp_path, 0o666, uuid="abc\n"))
    assert not check_autosign(cfg, "pi-1", {"uuid": "abc"})


def test_grain_names_cannot_reach_outside_the_grains_dir(tmp_path: Path) -> None:
    list_file(tmp_path, "v\n", name="secret")
    cfg = config(tmp_path, autosign_grains_dir=grains_dir(tmp_path, uuid="abc\n"))
    assert not check_autosign(cfg, "pi-1", {"../secret": "v"})


def stub(cfg: MasterConfig, minion_id: str, age_seconds: float = 0) -> Path:
    directory = cfg.pki_dir / "minions_autosign"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / minion_id
    path.write_text("")
    when = time.time() - age_seconds
    os.utime(path, (when, when))
    return path


def test_autosign_stub_is_consumed_once(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    path = stub(cfg, "pi-1")
    assert check_autosign(cfg, "pi-1")
    assert not path.exists()
    assert not check_autosign(cfg, "pi-1")


def test_expired_stubs_are_removed_without_signing(tmp_path: Path) -> None:
    cfg = config(tmp_path, autosign_timeout=120)
    old, fresh = stub(cfg, "pi-1", age_seconds=121 * 60), stub(cfg, "pi-2", age_seconds=60)
    assert not check_autosign(cfg, "pi-1")
    assert not old.exists() and fresh.exists()
    assert check_autosign(cfg, "pi-2")


def test_autosign_timeout_zero_keeps_stubs_forever(tmp_path: Path) -> None:
    cfg = config(tmp_path, autosign_timeout=0)
    stub(cfg, "pi-1", age_seconds=10 * 86400)
    assert check_autosign(cfg, "pi-1", now=time.time())


def test_stub_lookup_refuses_path_like_ids(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    stub(cfg, "pi-1")
    (cfg.pki_dir / "victim").write_text("")
    assert not check_autosign(cfg, "../victim")
    assert (cfg.pki_dir / "victim").exists()
