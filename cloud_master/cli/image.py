"""``fleet-image``: prepare Raspberry Pi OS images whose devices enrol themselves at first boot.

Commands::

    fleet-image prepare IMAGE -o OUT --master HOST (--id ID | --id-from serial)
                        [--preauth | --claim-token TOKEN] [--grains k=v ...] [--wifi-ssid ...]
    fleet-image bundle -o DIR --python 3.11 [--arch aarch64]     wheels to reuse with --bundle
    fleet-image inspect IMAGE                                     partitions and first-boot mechanism

No root and no mount: the boot partition is written in the image file with mtools.
Exit status: 0 done, 1 error, 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cloud_master.cli.common import error, format_data, setup_logging

PROG = "fleet-image"


def _add_target_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("target (detected from the image unless given)")
    group.add_argument("--flavour", choices=["firstrun", "cloud-init"],
                       help="first-boot mechanism: firstrun (bookworm) or cloud-init (trixie)")
    group.add_argument("--python", metavar="X.Y", help="the image's Python version (e.g. 3.11)")
    group.add_argument("--arch", metavar="ARCH", help="the image's architecture (aarch64, armv7l, x86_64)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("-l", "--log-level", default="warning", help="log level (default: warning)")
    parser.add_argument("--out", choices=["txt", "json", "yaml"], default="txt", help="report format")
    sub = parser.add_subparsers(dest="command", required=True)

    prep = sub.add_parser("prepare", help="write the minion, its enrollment and an offline bundle into an image")
    prep.add_argument("image", type=Path, metavar="IMAGE", help="stock Raspberry Pi OS image (.img or .img.xz)")
    prep.add_argument("-o", "--output", type=Path, required=True, metavar="OUT",
                      help="prepared image to write (.img, or .img.xz to compress it)")
    prep.add_argument("--master", required=True, action="append", metavar="HOST",
                      help="master host (repeat or comma-separate for failover)")
    prep.add_argument("--master-port", type=int, default=4506, help="master request port (default 4506)")
    ident = prep.add_mutually_exclusive_group(required=True)
    ident.add_argument("--id", dest="minion_id", metavar="ID", help="the device's minion id")
    ident.add_argument("--id-from", choices=["serial"], help="derive the id from the Pi's serial number")
    prep.add_argument("--id-prefix", default="pi-", help="prefix of a serial-derived id (default pi-)")
    prep.add_argument("--grains", nargs="+", default=[], metavar="KEY=VALUE", help="static grains of the device")
    mode = prep.add_mutually_exclusive_group()
    mode.add_argument("--preauth", action="store_true",
                      help="generate the device key here and register it as accepted on the master")
    mode.add_argument("--claim-token", metavar="TOKEN",
                      help="token from fleet-key --new-claim-token (or env EDGEFLEET_CLAIM_TOKEN)")
    mode.add_argument("--claim-token-file", type=Path, metavar="FILE", help="read the claim token from FILE")
    prep.add_argument("--master-state-dir", type=Path, metavar="DIR",
                      help="the master's state dir: --preauth preseeds the key there; its key is pinned")
    prep.add_argument("--master-pub", type=Path, metavar="FILE", help="pin this master public key on the device")
    wifi = prep.add_argument_group("Wi-Fi (NetworkManager, installed at first boot)")
    wifi.add_argument("--wifi-ssid", metavar="SSID")
    wifi.add_argument("--wifi-psk", metavar="KEY", help="WPA key (or env EDGEFLEET_WIFI_PSK; omit for an open net)")
    wifi.add_argument("--wifi-country", metavar="CC", help="regulatory domain, e.g. DE, GB, US")
    wifi.add_argument("--wifi-hidden", action="store_true", help="the network does not broadcast its SSID")
    _add_target_args(prep)
    prep.add_argument("--bundle", type=Path, metavar="DIR", help="reuse a bundle from fleet-image bundle")
    prep.add_argument("--wheel", type=Path, metavar="FILE", help="use this edgefleet wheel instead of building one")
    prep.add_argument("--recipe", type=Path, metavar="DIR", help="an adapted copy of images/ to use")
    prep.add_argument("--force", action="store_true", help="replace OUT if it exists")

    bundle = sub.add_parser("bundle", help="build the offline install bundle once, for many images")
    bundle.add_argument("-o", "--output", type=Path, required=True, metavar="DIR")
    bundle.add_argument("--python", required=True, metavar="X.Y", help="target Python (bookworm 3.11, trixie 3.13)")
    bundle.add_argument("--arch", default="aarch64", help="target architecture (default aarch64)")
    bundle.add_argument("--codename", default="bookworm", help="target Debian release, for its glibc")
    bundle.add_argument("--wheel", type=Path, metavar="FILE", help="use this edgefleet wheel instead of building one")

    inspect = sub.add_parser("inspect", help="show an image's partitions and first-boot mechanism")
    inspect.add_argument("image", type=Path, metavar="IMAGE")
    return parser


def _claim_token(args: argparse.Namespace) -> str | None:
    from cloud_master.image import ImageError

    if args.claim_token_file is not None:
        try:
            return str(args.claim_token_file.read_text(encoding="utf-8").strip()) or None
        except OSError as exc:
            raise ImageError(f"cannot read the claim token: {exc}") from exc
    return args.claim_token or os.environ.get("EDGEFLEET_CLAIM_TOKEN") or None


def _prepare(args: argparse.Namespace) -> dict[str, Any]:
    from cloud_master.claims import parse_grains
    from cloud_master.image import PrepareOptions, WifiSettings, prepare

    wifi = None
    if args.wifi_ssid:
        wifi = WifiSettings(args.wifi_ssid, args.wifi_psk or os.environ.get("EDGEFLEET_WIFI_PSK"),
                            args.wifi_country, args.wifi_hidden)
    masters = tuple(h.strip() for item in args.master for h in item.split(",") if h.strip())
    options = PrepareOptions(
        image=args.image, output=args.output, masters=masters, master_port=args.master_port,
        minion_id=args.minion_id, id_from_serial=args.id_from == "serial", id_prefix=args.id_prefix,
        grains=parse_grains(args.grains), preauth=args.preauth, claim_token=_claim_token(args),
        master_state_dir=args.master_state_dir, master_pub=args.master_pub, wifi=wifi,
        flavour=args.flavour, python=args.python, arch=args.arch, bundle=args.bundle, wheel=args.wheel,
        recipe=args.recipe, force=args.force,
    )
    return prepare(options)


def _bundle(args: argparse.Namespace) -> dict[str, Any]:
    from cloud_master.image.bundle import build_bundle, glibc_for

    made = build_bundle(args.output, args.python, args.arch, glibc_for(args.codename), wheel=args.wheel)
    return {"bundle": str(made.path), "python": made.python, "arch": made.arch, "edgefleet": made.edgefleet,
            "wheels": sorted(made.wheels)}


def _inspect(args: argparse.Namespace) -> dict[str, Any]:
    from cloud_master.image.disk import boot_and_root, read_mbr
    from cloud_master.image.fat import FatPartition
    from cloud_master.image.rootfs import inspect_root
    from cloud_master.image.target import choose_target

    parts = read_mbr(args.image)
    boot, root = boot_and_root(parts)
    files = FatPartition(args.image, boot.start).listdir()
    info = inspect_root(args.image, root.start) if root is not None else None
    target = choose_target(files, info)
    return {"partitions": [{"number": p.number, "type": f"0x{p.type_id:02x}", "start": p.start, "size": p.size}
                           for p in parts],
            "boot_files": sorted(files), "flavour": target.flavour, "codename": target.codename,
            "python": target.python, "arch": target.arch, "decided": list(target.reasons)}


def _render(report: dict[str, Any], out: str) -> str:
    if out != "txt":
        return format_data(report, out)
    lines = []
    for key, value in report.items():
        if isinstance(value, list):
            lines.append(f"{key}:")
            lines.extend(f"    {json.dumps(v) if isinstance(v, dict) else v}" for v in value)
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``fleet-image``."""
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level)
    from cloud_master.errors import MasterError

    commands = {"prepare": _prepare, "bundle": _bundle, "inspect": _inspect}
    try:
        report = commands[args.command](args)
    except MasterError as exc:
        return error(PROG, str(exc))
    except KeyboardInterrupt:
        return error(PROG, "interrupted", 130)
    print(_render(report, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
