"""fleet-image prepare on small Pi-OS-shaped images, and the first-boot installer in a scratch root.

Images are built by the test (mkfs.vfat, mkfs.ext4 -d, sfdisk: no root, no loop
device); the installer installs the real bundle into a scratch root, offline.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from cloud_master.keystore import KeyStore
from tests.pi_image import REPO, extract_boot, fake_pi, host_bundle, make_pi_image, missing_tools, run_firstboot

pytestmark = pytest.mark.skipif(bool(missing_tools()), reason=f"needs {missing_tools()} (run tools/setup)")

SERIAL = "10000000ABCDEF01"


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("images")


@pytest.fixture(scope="module")
def bundle(work: Path) -> Path:
    return host_bundle(work)


def fleet_image(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cloud_master.cli.image", *args], capture_output=True, text=True,
                          timeout=900, cwd=REPO)


def prepare(image: Path, out: Path, *args: str) -> dict[str, object]:
    proc = fleet_image("--out", "json", "prepare", str(image), "-o", str(out), "--master", "fleet.example",
                       "--force", *args)
    assert proc.returncode == 0, proc.stderr
    report: dict[str, object] = json.loads(proc.stdout)
    return report


def region_hash(path: Path, start: int, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        handle.seek(start)
        digest.update(handle.read(size))
    return digest.hexdigest()


def test_bookworm_xz_image_with_claim_token_and_wifi(work: Path, bundle: Path) -> None:
    stock = make_pi_image(work, "bookworm", xz=True)
    out = work / "bookworm-claim.img"
    report = prepare(stock, out, "--id-from", "serial", "--claim-token", "efc_secret", "--grains", "site=lab",
                     "--wifi-ssid", "Lab", "--wifi-psk", "correct horse", "--wifi-country", "de",
                     "--arch", "x86_64", "--bundle", str(bundle))
    assert report["flavour"] == "firstrun" and report["enrollment"] == "claim-token"
    assert report["codename"] == "bookworm" and report["python"] == "3.11"
    boot = extract_boot(out, work / "bookworm-claim")
    cmdline = (boot / "cmdline.txt").read_text()
    assert cmdline.startswith("console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02")
    assert cmdline.rstrip().endswith("cfg80211.ieee80211_regdom=DE systemd.run=/boot/firmware/firstrun.sh "
                                      "systemd.run_success_action=reboot systemd.unit=kernel-command-line.target")
    assert (boot / "firstrun.sh").read_text() == (REPO / "images/firstrun.sh").read_text()
    payload = boot / "edgefleet"
    assert (payload / "firstboot.sh").read_text() == (REPO / "images/firstboot.sh").read_text()
    assert (payload / "edgefleet-power").read_text() == (REPO / "images/power-helper").read_text()
    assert (payload / "claim_token").read_text() == "efc_secret\n"
    assert "EDGEFLEET_ID_FROM=serial\n" in (payload / "firstboot.env").read_text()
    config = yaml.safe_load((payload / "minion.yaml").read_text())
    assert config["master"] == ["fleet.example"] and config["grains"] == {"site": "lab"}
    assert "psk=correct horse" in (payload / "wifi.nmconnection").read_text()
    manifest = json.loads((payload / "bundle/manifest.json").read_text())
    assert any(name.startswith("edgefleet-") for name in manifest["wheels"])
    assert not (boot / "user-data").exists()


def test_only_the_boot_partition_changes(work: Path, bundle: Path) -> None:
    stock = make_pi_image(work, "bookworm")
    out = work / "bookworm-untouched-root.img"
    prepare(stock, out, "--id", "pi-7", "--arch", "x86_64", "--bundle", str(bundle))
    from cloud_master.image.disk import boot_and_root, read_mbr

    _, root = boot_and_root(read_mbr(stock))
    assert root is not None and out.stat().st_size == stock.stat().st_size
    assert region_hash(out, root.start, root.size) == region_hash(stock, root.start, root.size)
    assert region_hash(out, 0, 512) == region_hash(stock, 0, 512)


def test_trixie_image_uses_cloud_init(work: Path, bundle: Path) -> None:
    stock = make_pi_image(work, "trixie", python="3.11")  # the host's Python, so the host bundle fits
    out = work / "trixie.img.xz"
    report = prepare(stock, out, "--id", "pi-trixie-1", "--arch", "x86_64", "--bundle", str(bundle),
                     "--wifi-ssid", "Lab", "--wifi-psk", "correct horse", "--wifi-country", "GB")
    assert report["flavour"] == "cloud-init" and out.exists()
    import lzma

    raw = work / "trixie-out.img"
    raw.write_bytes(lzma.decompress(out.read_bytes()))
    boot = extract_boot(raw, work / "trixie")
    user_data = (boot / "user-data").read_text()
    assert user_data.startswith("#cloud-config\n# This is the user-data configuration file for cloud-init.")
    assert yaml.safe_load(user_data)["runcmd"] == [["bash", "/boot/firmware/edgefleet/firstboot.sh"]]
    assert (boot / "meta-data").read_text() == "instance-id: rpios-image\n"
    assert (boot / "network-config").read_text() == "network:\n  version: 2\n"
    cmdline = (boot / "cmdline.txt").read_text()
    assert "systemd.run" not in cmdline and "cfg80211.ieee80211_regdom=GB" in cmdline
    assert not (boot / "firstrun.sh").exists()
    again = prepare(raw, work / "trixie-again.img", "--id", "pi-trixie-1", "--arch", "x86_64",
                    "--bundle", str(bundle))  # preparing a prepared image does not add runcmd twice
    assert again["flavour"] == "cloud-init"
    boot2 = extract_boot(work / "trixie-again.img", work / "trixie-again")
    assert (boot2 / "user-data").read_text() == user_data


def test_preauth_preseeds_the_key_and_pins_the_master(work: Path, bundle: Path) -> None:
    master_state = work / "master-state"
    store = KeyStore(master_state / "pki", master_state / "cache")
    _, master_pub = store.ensure_master_keys()
    stock = make_pi_image(work, "bookworm")
    out = work / "preauth.img"
    report = prepare(stock, out, "--id", "pi-pre-1", "--preauth", "--master-state-dir", str(master_state),
                     "--arch", "x86_64", "--bundle", str(bundle))
    assert report["enrollment"] == "preauth"
    pki = extract_boot(out, work / "preauth") / "edgefleet/pki"
    assert store.state("pi-pre-1") == "accepted"
    assert store.get_pub("pi-pre-1") == (pki / "minion.pub").read_text().strip()
    assert (pki / "minion.pem").read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert (pki / "minion_master.pub").read_text().strip() == master_pub.strip()


def test_preauth_without_master_access_writes_the_public_key(work: Path, bundle: Path) -> None:
    out = work / "preauth-offline.img"
    report = prepare(make_pi_image(work, "bookworm"), out, "--id", "pi-pre-2", "--preauth",
                     "--arch", "x86_64", "--bundle", str(bundle))
    assert report["notes"] == [f"on the master, run: fleet-key --preseed pi-pre-2 {work / 'pi-pre-2.pub'}"]
    assert (work / "pi-pre-2.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")


@pytest.mark.parametrize("args,message", [
    (["--id-from", "serial", "--preauth"], "needs --id"),
    (["--id", "pi-1", "--python", "3.13"], "is for Python 3.11"),
    (["--id", "bad/id"], "invalid minion id"),
])
def test_refusals(work: Path, bundle: Path, args: list[str], message: str) -> None:
    proc = fleet_image("prepare", str(make_pi_image(work, "bookworm")), "-o", str(work / "refused.img"),
                       "--master", "m", "--force", "--arch", "x86_64", "--bundle", str(bundle), *args)
    assert proc.returncode == 1 and message in proc.stderr, proc.stderr
    assert not (work / "refused.img").exists() and not list(work.glob(".refused.img.partial*"))


def test_not_a_disk_image(work: Path) -> None:
    junk = work / "junk.img"
    junk.write_bytes(b"\0" * 4096)
    proc = fleet_image("prepare", str(junk), "-o", str(work / "junk-out.img"), "--master", "m", "--id", "x")
    assert proc.returncode == 1 and "no MBR partition table" in proc.stderr


def test_aarch64_bundle_for_the_images_python(work: Path) -> None:
    """The real target: wheels for a 64-bit Pi, found from the image's root partition."""
    out = work / "arm.img"
    report = prepare(make_pi_image(work, "bookworm"), out, "--id", "pi-arm-1")
    assert (report["arch"], report["python"]) == ("aarch64", "3.11")
    wheels = [str(w) for w in report["wheels"]]  # type: ignore[attr-defined]
    compiled = [w for w in wheels if not w.endswith("-none-any.whl")]
    names = {w.split("-")[0] for w in compiled}
    assert names >= {"pyzmq", "pycryptodomex", "msgpack", "pyyaml", "psutil"}
    assert "cryptography" not in names  # the master's library (the "master" extra) stays off the card
    assert all("aarch64" in w for w in compiled), compiled
    assert all("-cp311-" in w or "-abi3-" in w for w in compiled), compiled


# ---- the installer ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def installed(work: Path, bundle: Path) -> Iterator[tuple[Path, Path, subprocess.CompletedProcess[str]]]:
    out = work / "install.img"
    prepare(make_pi_image(work, "bookworm"), out, "--id-from", "serial", "--claim-token", "efc_secret",
            "--wifi-ssid", "Lab", "--wifi-psk", "correct horse", "--arch", "x86_64", "--bundle", str(bundle))
    boot = extract_boot(out, work / "install-boot")
    root = work / "install-root"
    result = run_firstboot(boot / "edgefleet", root, fake_pi(work / "install-hw", SERIAL))
    yield boot / "edgefleet", root, result


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_installer_installs_config_secrets_and_unit(installed: tuple[Path, Path, subprocess.CompletedProcess[str]]
                                                    ) -> None:
    payload, root, result = installed
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load((root / "etc/edgefleet/minion.yaml").read_text())
    assert config["id"] == "pi-10000000abcdef01" and config["master"] == ["fleet.example"]
    assert mode(root / "etc/edgefleet/minion.yaml") == 0o640
    state = root / "var/lib/edgefleet/minion"
    assert (state / "claim_token").read_text() == "efc_secret\n" and mode(state / "claim_token") == 0o600
    assert mode(state) == 0o700 and mode(state / "pki") == 0o700
    wifi = root / "etc/NetworkManager/system-connections/edgefleet-wifi.nmconnection"
    assert "ssid=Lab" in wifi.read_text() and mode(wifi) == 0o600
    for secret in ("claim_token", "wifi.nmconnection"):
        assert not (payload / secret).exists()
    assert mode(root / "usr/local/libexec/edgefleet-power") == 0o755
    assert mode(root / "etc/sudoers.d/edgefleet-power") == 0o440
    unit = root / "etc/systemd/system/edge-minion.service"
    assert unit.read_text() == (REPO / "images/edge-minion.service").read_text()
    wants = root / "etc/systemd/system/multi-user.target.wants/edge-minion.service"
    assert os.readlink(wants) == "/etc/systemd/system/edge-minion.service"
    venv = root / "opt/edgefleet/venv"
    version = subprocess.run([str(venv / "bin/python"), "-c",
                              "import edge_minion.minion, zmq, Cryptodome; print('ok')"],
                             capture_output=True, text=True)
    assert version.stdout.strip() == "ok", version.stderr
    assert (venv / "bin/edge-minion").is_file()


def snapshot(root: Path) -> dict[str, tuple[int, str]]:
    out: dict[str, tuple[int, str]] = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            content = "-> " + os.readlink(path)
        elif stat.S_ISREG(st.st_mode):
            content = hashlib.sha256(path.read_bytes()).hexdigest() + f" {st.st_mtime_ns}"
        else:
            content = "dir"
        out[str(path.relative_to(root))] = (stat.S_IMODE(st.st_mode), content)
    return out


def test_installer_run_twice_changes_nothing(installed: tuple[Path, Path, subprocess.CompletedProcess[str]],
                                             work: Path) -> None:
    payload, root, first = installed
    assert first.returncode == 0, first.stderr
    before = snapshot(root)
    again = run_firstboot(payload, root, work / "install-hw")
    assert again.returncode == 0, again.stderr
    assert snapshot(root) == before
    assert "installed" not in again.stderr and "created" not in again.stderr


def test_installed_unit_verifies(installed: tuple[Path, Path, subprocess.CompletedProcess[str]],
                                 tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    _, root, _ = installed
    # Point ExecStart into the scratch root, so verify also checks the installed program.
    text = (root / "etc/systemd/system/edge-minion.service").read_text()
    unit = tmp_path / "edge-minion.service"
    unit.write_text(text.replace("/opt/edgefleet/", f"{root}/opt/edgefleet/"))
    proc = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert proc.returncode == 0 and "edge-minion.service" not in proc.stderr, proc.stderr


def test_sudoers_and_scripts_lint() -> None:
    if shutil.which("visudo"):
        proc = subprocess.run(["visudo", "-cf", str(REPO / "images/edgefleet-power.sudoers")],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    if shutil.which("shellcheck"):
        scripts = [str(REPO / "images" / n) for n in ("firstboot.sh", "firstrun.sh", "power-helper")]
        proc = subprocess.run(["shellcheck", *scripts], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout


@pytest.mark.parametrize("args", [[], ["halt"], ["reboot", "x"], ["reboot", "99999"], ["reboot", "1441"],
                                  ["cancel", "5"], ["reboot", "1", "2"], ["reboot;id"]])
def test_power_helper_refuses_anything_else(args: list[str]) -> None:
    proc = subprocess.run(["sh", str(REPO / "images/power-helper"), *args], capture_output=True, text=True)
    assert proc.returncode == 2 and "usage:" in proc.stderr


def test_installer_without_serial_or_id_fails_clearly(work: Path, installed: tuple[Path, Path, object]) -> None:
    payload, _, _ = installed
    copy = work / "no-serial"
    shutil.copytree(payload, copy, dirs_exist_ok=True)
    result = run_firstboot(copy, work / "no-serial-root", work / "no-hw")
    assert result.returncode == 1 and "no serial number" in result.stderr
