"""``fleet-image prepare``: one stock Raspberry Pi OS image in, one self-enrolling image out.

Reading order: :func:`prepare` copies (and decompresses) the image, finds the
boot and root partitions, decides the first-boot mechanism, Python and
architecture (:mod:`.target`), stages the payload in a temporary directory
(:func:`_stage`), copies it to ``/edgefleet`` on the FAT boot partition and adds
the mechanism's glue (:func:`_glue`). The output appears under its final name
only when complete.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloud_master.image import payload
from cloud_master.image.bundle import Bundle, build_bundle, glibc_for, load_bundle
from cloud_master.image.disk import boot_and_root, compress_xz, copy_image, read_mbr
from cloud_master.image.errors import ImageError, ToolMissing
from cloud_master.image.fat import FatPartition
from cloud_master.image.recipe import FIRSTRUN, RECIPE_FILES, USER_DATA, Recipe, find_recipe
from cloud_master.image.rootfs import RootInfo, inspect_root
from cloud_master.image.target import CLOUD_INIT, ImageTarget, choose_target

__all__ = ["PrepareOptions", "WifiSettings", "prepare"]

log = logging.getLogger(__name__)

PAYLOAD_DIR = "edgefleet"
_FIRSTRUN_MARK = "edgefleet: run once at first boot"


@dataclass(frozen=True)
class WifiSettings:
    ssid: str
    psk: str | None
    country: str | None = None
    hidden: bool = False


@dataclass(frozen=True)
class PrepareOptions:
    """Everything ``fleet-image prepare`` takes; see ``fleet-image prepare --help``."""

    image: Path
    output: Path
    masters: tuple[str, ...]
    master_port: int = 4506
    minion_id: str | None = None
    id_from_serial: bool = False
    id_prefix: str = "pi-"
    grains: Mapping[str, str] = field(default_factory=dict)
    preauth: bool = False
    claim_token: str | None = None
    master_state_dir: Path | None = None  # preseed the key and pin the master key from here
    master_pub: Path | None = None  # pin this master key on the device
    wifi: WifiSettings | None = None
    flavour: str | None = None
    python: str | None = None
    arch: str | None = None
    bundle: Path | None = None
    wheel: Path | None = None
    recipe: Path | None = None
    force: bool = False


def _check(opts: PrepareOptions) -> None:
    if not opts.masters:
        raise ImageError("--master is required")
    if (opts.minion_id is None) == (not opts.id_from_serial):
        raise ImageError("give exactly one of --id ID and --id-from serial")
    if opts.minion_id is not None and not payload.ID_PATTERN.match(opts.minion_id):
        raise ImageError(f"invalid minion id {opts.minion_id!r}: letters, digits, '.', '_' and '-' only")
    if opts.id_from_serial and opts.id_prefix and not payload.ID_PATTERN.match(opts.id_prefix + "0"):
        raise ImageError(f"invalid --id-prefix {opts.id_prefix!r}")
    if opts.preauth and opts.claim_token:
        raise ImageError("--preauth and --claim-token are two enrollment modes: choose one")
    if opts.preauth and opts.minion_id is None:
        raise ImageError("--preauth registers one key for one id: it needs --id, not --id-from serial "
                         "(use --claim-token for a batch of identical cards)")
    if opts.output.exists() and not opts.force:
        raise ImageError(f"{opts.output} exists; pass --force to replace it")
    if opts.output.resolve() == opts.image.resolve():
        raise ImageError("the output must not be the input image")


def prepare(opts: PrepareOptions) -> dict[str, Any]:
    """Write ``opts.output``; returns a report (target, id, mode, files written, notes).

    Raises:
        ImageError: and its subclasses, with the reason in the message.
    """
    _check(opts)
    recipe = find_recipe(opts.recipe)
    compress = opts.output.suffix == ".xz"
    work = opts.output.with_name(f".{opts.output.name}.partial")
    notes: list[str] = []
    try:
        copy_image(opts.image, work)
        boot, root = boot_and_root(read_mbr(work))
        fat = FatPartition(work, boot.start)
        boot_files = fat.listdir()
        root_info: RootInfo | None = None
        if root is not None:
            try:
                root_info = inspect_root(work, root.start)
            except ToolMissing as exc:
                notes.append(f"root partition not read ({exc}); Python and architecture assumed")
        target = choose_target(boot_files, root_info, opts.flavour, opts.python, opts.arch)
        with tempfile.TemporaryDirectory(prefix="fleet-image-") as tmp:
            stage = Path(tmp) / PAYLOAD_DIR
            bundle = _bundle(opts, target, Path(tmp) / "bundle")
            written = _stage(opts, recipe, stage, bundle, notes)
            if PAYLOAD_DIR in boot_files:
                fat.remove(PAYLOAD_DIR)
            fat.copy_tree(stage, PAYLOAD_DIR)
            written += _glue(opts, recipe, fat, boot_files, target)
        if compress:
            compress_xz(work, work.with_name(work.name + ".xz"))
            work.unlink()
            work = work.with_name(work.name + ".xz")
        work.replace(opts.output)
    except BaseException:
        for leftover in (work, work.with_name(work.name + ".xz")):
            leftover.unlink(missing_ok=True)
        raise
    return {"output": str(opts.output), "flavour": target.flavour, "codename": target.codename,
            "python": target.python, "arch": target.arch, "decided": list(target.reasons),
            "id": opts.minion_id or f"{opts.id_prefix}<serial>",
            "enrollment": "preauth" if opts.preauth else "claim-token" if opts.claim_token else "manual",
            "edgefleet": bundle.edgefleet, "wheels": sorted(bundle.wheels), "written": written, "notes": notes}


def _bundle(opts: PrepareOptions, target: ImageTarget, scratch: Path) -> Bundle:
    if opts.bundle is not None:
        return load_bundle(opts.bundle, target.python, target.arch)
    log.info("building the install bundle for Python %s on %s", target.python, target.arch)
    return build_bundle(scratch, target.python, target.arch, glibc_for(target.codename), wheel=opts.wheel)


def _stage(opts: PrepareOptions, recipe: Recipe, stage: Path, bundle: Bundle, notes: list[str]) -> list[str]:
    """Fill ``stage`` with the payload; returns the boot-partition paths written."""
    stage.mkdir(parents=True)
    for source, name in RECIPE_FILES.items():
        (stage / name).write_text(recipe.text(source), encoding="utf-8")
    (stage / "minion.yaml").write_text(payload.minion_config(opts.masters, opts.master_port, opts.grains))
    settings = {"EDGEFLEET_ID": opts.minion_id or ""}
    if opts.id_from_serial:
        settings.update(EDGEFLEET_ID_FROM="serial", EDGEFLEET_ID_PREFIX=opts.id_prefix)
    if opts.wifi and opts.wifi.country:
        settings["EDGEFLEET_WIFI_COUNTRY"] = opts.wifi.country.upper()
    (stage / "firstboot.env").write_text(payload.firstboot_env(settings))
    (stage / "bundle").mkdir()
    for name in (*bundle.wheels, "manifest.json"):
        shutil.copy2(bundle.path / name, stage / "bundle" / name)
    if opts.claim_token:
        (stage / "claim_token").write_text(opts.claim_token.strip() + "\n")
    if opts.wifi is not None:
        try:
            text = payload.wifi_nmconnection(opts.wifi.ssid, opts.wifi.psk, str(uuid.uuid4()), opts.wifi.hidden)
        except ValueError as exc:
            raise ImageError(str(exc)) from exc
        (stage / "wifi.nmconnection").write_text(text)
    _keys(opts, stage / "pki", notes)
    return sorted(f"{PAYLOAD_DIR}/{p.relative_to(stage)}" for p in stage.rglob("*")
                  if p.is_file() and p.parent.name != "bundle") + [f"{PAYLOAD_DIR}/bundle/"]


def _keys(opts: PrepareOptions, pki: Path, notes: list[str]) -> None:
    from cloud_master.keystore import KeyStore
    from edge_minion.protocol import crypto_openssl, rsa

    master_pub = opts.master_pub
    if master_pub is None and opts.master_state_dir is not None:
        master_pub = opts.master_state_dir / "pki" / "master.pub"
    if master_pub is not None:
        pki.mkdir(exist_ok=True)
        try:
            (pki / "minion_master.pub").write_text(rsa.clean_key(master_pub.read_text()) + "\n")
        except OSError as exc:
            raise ImageError(f"cannot read the master key {master_pub}: {exc}") from exc
    if not opts.preauth:
        return
    assert opts.minion_id is not None
    key = crypto_openssl.generate_private_key()
    pub = crypto_openssl.public_pem(key)
    pki.mkdir(exist_ok=True)
    (pki / "minion.pem").write_bytes(crypto_openssl.private_pem(key))
    (pki / "minion.pub").write_text(pub + "\n")
    if opts.master_state_dir is not None:
        state = opts.master_state_dir
        KeyStore(state / "pki", state / "cache").preseed(opts.minion_id, pub)
        notes.append(f"key of {opts.minion_id} preseeded as accepted in {state / 'pki'}")
        return
    pub_file = opts.output.with_name(f"{opts.minion_id}.pub")
    pub_file.write_text(pub + "\n")
    notes.append(f"on the master, run: fleet-key --preseed {opts.minion_id} {pub_file}")


def _glue(opts: PrepareOptions, recipe: Recipe, fat: FatPartition, boot_files: list[str],
          target: ImageTarget) -> list[str]:
    """Make the image run the installer once at first boot; returns the paths written."""
    country = opts.wifi.country if opts.wifi else None
    cmdline = fat.read_text("cmdline.txt")
    if target.flavour == CLOUD_INIT:
        names = {n.lower(): n for n in boot_files}
        stock = fat.read_text(names["user-data"]) if "user-data" in names else None
        try:
            fat.write_text("user-data", payload.merge_user_data(stock, recipe.text(USER_DATA)))
        except ValueError as exc:
            raise ImageError(str(exc)) from exc
        meta = fat.read_text(names["meta-data"]) if "meta-data" in names else None
        fat.write_text("meta-data", payload.meta_data(meta, f"edgefleet-{uuid.uuid4().hex[:12]}"))
        written = ["user-data", "meta-data"]
        if country:
            fat.write_text("cmdline.txt", payload.cmdline_with_regdom(cmdline, country))
            written.append("cmdline.txt")
        return written
    if FIRSTRUN in boot_files:
        previous = fat.read_text(FIRSTRUN)
        if _FIRSTRUN_MARK not in previous:
            fat.write_text(f"{PAYLOAD_DIR}/previous-firstrun.sh", previous)
    fat.write_text(FIRSTRUN, recipe.text(FIRSTRUN))
    fat.write_text("cmdline.txt", payload.cmdline_with_firstrun(cmdline, country))
    return [FIRSTRUN, "cmdline.txt"]
