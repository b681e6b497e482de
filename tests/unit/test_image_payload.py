"""What fleet-image writes to the boot partition, rendered without an image."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cloud_master.image import payload
from edge_minion.config import load_config

CMDLINE = "console=serial0,115200 root=PARTUUID=4e639091-02 rootwait quiet\n"


def test_minion_config_is_one_the_minion_accepts(tmp_path: Path) -> None:
    text = payload.minion_config(["m1.example", "m2.example"], 4606, {"site": "lab"})
    path = tmp_path / "minion.yaml"
    path.write_text("id: pi-abc\n" + text)
    config = load_config(path=path, environ={})
    assert config.id == "pi-abc" and config.master == ("m1.example", "m2.example")
    assert config.master_port == 4606 and dict(config.grains) == {"site": "lab"}
    assert str(config.state_dir) == "/var/lib/edgefleet/minion"


def test_firstboot_env_quotes_values() -> None:
    text = payload.firstboot_env({"EDGEFLEET_ID": "", "EDGEFLEET_ID_PREFIX": "pi-'x"})
    assert "EDGEFLEET_ID=''\n" in text and "EDGEFLEET_ID_PREFIX='pi-'\"'\"'x'\n" in text


def test_cmdline_gets_firstrun_once_and_keeps_the_rest() -> None:
    once = payload.cmdline_with_firstrun(CMDLINE, "de")
    assert once == ("console=serial0,115200 root=PARTUUID=4e639091-02 rootwait quiet cfg80211.ieee80211_regdom=DE "
                    "systemd.run=/boot/firmware/firstrun.sh systemd.run_success_action=reboot "
                    "systemd.unit=kernel-command-line.target\n")
    assert payload.cmdline_with_firstrun(once, "DE") == once
    imager = CMDLINE.strip() + " systemd.run=/boot/firstrun.sh systemd.run_success_action=reboot " \
                               "systemd.unit=kernel-command-line.target\n"
    assert payload.cmdline_with_firstrun(imager) == payload.cmdline_with_firstrun(CMDLINE)
    assert payload.cmdline_with_regdom(CMDLINE, None) == CMDLINE


def test_user_data_keeps_stock_comments_and_adds_runcmd_once() -> None:
    fragment = Path(__file__).resolve().parents[2].joinpath("images/user-data.yaml").read_text()
    stock = "#cloud-config\n# a comment the operator wrote\nhostname: pi\n"
    merged = payload.merge_user_data(stock, fragment)
    assert merged.startswith(stock.rstrip("\n")) and "# a comment the operator wrote" in merged
    assert yaml.safe_load(merged) == {"hostname": "pi", "runcmd": [payload.RUNCMD]}
    assert payload.merge_user_data(merged, fragment) == merged
    with_runcmd = "#cloud-config\nruncmd:\n  - [echo, hi]\n"
    assert yaml.safe_load(payload.merge_user_data(with_runcmd, fragment))["runcmd"] == [["echo", "hi"], payload.RUNCMD]
    assert payload.merge_user_data(None, fragment) == fragment
    with pytest.raises(ValueError, match="cloud-config"):
        payload.merge_user_data("#!/bin/sh\necho hi\n", fragment)


def test_meta_data_is_kept_or_made() -> None:
    assert payload.meta_data("instance-id: rpios\n", "edgefleet-1") == "instance-id: rpios\n"
    assert payload.meta_data("", "edgefleet-1") == "instance-id: edgefleet-1\n"


def test_wifi_keyfile() -> None:
    text = payload.wifi_nmconnection("Lab Net", "correct horse", "0d6b5c1e-0000-4000-8000-000000000000", hidden=True)
    assert "ssid=Lab Net\nhidden=true\n" in text and "key-mgmt=wpa-psk\npsk=correct horse\n" in text
    assert "[wifi-security]" not in payload.wifi_nmconnection("Open", None, "u")
    for ssid, psk in (("", "12345678"), ("a\nb", "12345678"), ("ok", "short"), ("ok", "x" * 65)):
        with pytest.raises(ValueError):
            payload.wifi_nmconnection(ssid, psk, "u")


@pytest.mark.parametrize("minion_id,ok", [("pi-10000000abcdef01", True), ("gw_1.site", True), ("-x", False),
                                          ("a/b", False), ("a b", False), ("x" * 64, False)])
def test_id_pattern(minion_id: str, ok: bool) -> None:
    assert bool(payload.ID_PATTERN.match(minion_id)) is ok
