"""The offline install bundle: the edgefleet wheel and every dependency's wheel for the Pi.

Built on the workstation (which has an index) so the Pi installs with
``pip install --no-index --find-links BUNDLE edgefleet`` and no network. The
bundle also holds pip's own wheel, so the Pi needs neither ``ensurepip`` nor
``python3-pip``: the installer runs ``python BUNDLE/pip-*.whl/pip install ...``.
``manifest.json`` records the target (Python, architecture) and each wheel's
SHA-256, so a bundle built once can be reused for many images, and a mismatch
is caught before the card is written.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cloud_master.image.errors import BundleError

__all__ = ["MANIFEST", "Bundle", "build_bundle", "glibc_for", "load_bundle", "platform_tags", "source_tree"]

MANIFEST = "manifest.json"
_GLIBC = {"bookworm": (2, 36), "trixie": (2, 41)}
_PACKAGES = ("edge_minion", "cloud_master", "device_modules")
_SOURCE_FILES = ("pyproject.toml", "README.md", "LICENSE")


@dataclass(frozen=True)
class Bundle:
    path: Path
    python: str
    arch: str
    edgefleet: str
    wheels: dict[str, str]  # file name -> sha256

    def as_dict(self) -> dict[str, object]:
        return {"python": self.python, "arch": self.arch, "edgefleet": self.edgefleet, "wheels": self.wheels}


def glibc_for(codename: str | None) -> tuple[int, int]:
    """The glibc of a Debian release (bookworm's when unknown: wheels for it run on later ones)."""
    return _GLIBC.get(codename or "", (2, 36))


def platform_tags(arch: str, glibc: tuple[int, int] = (2, 36)) -> list[str]:
    """pip ``--platform`` values for every manylinux level this glibc runs, newest first."""
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(glibc[1], 16, -1)]
    return [*tags, f"manylinux2014_{arch}"]


def source_tree() -> Path | None:
    """The edgefleet source checkout this code runs from, if it is one (has pyproject.toml)."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() else None


def _run(argv: Sequence[str], what: str) -> None:
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BundleError(f"cannot {what}: {exc}") from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise BundleError(f"cannot {what} (pip exited {proc.returncode}):\n{tail}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _build_edgefleet_wheel(source: Path, dest: Path, pip: Sequence[str]) -> None:
    # Build from a clean copy, so the checkout gets no build/ or egg-info litter.
    with tempfile.TemporaryDirectory(prefix="fleet-image-src-") as tmp:
        copy = Path(tmp) / "edgefleet"
        copy.mkdir()
        for name in _SOURCE_FILES:
            if (source / name).exists():
                shutil.copy2(source / name, copy / name)
        for package in _PACKAGES:
            shutil.copytree(source / package, copy / package,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        _run([*pip, "wheel", "--no-deps", "--disable-pip-version-check", "-w", str(dest), str(copy)],
             "build the edgefleet wheel")


def build_bundle(dest: Path, python: str, arch: str, glibc: tuple[int, int] = (2, 36), *,
                 source: Path | None = None, wheel: Path | None = None,
                 pip: Sequence[str] = (sys.executable, "-m", "pip")) -> Bundle:
    """Fill ``dest`` with wheels for CPython ``python`` on ``arch`` and write the manifest.

    ``wheel`` is a ready edgefleet wheel; otherwise one is built from ``source``
    (default: the checkout this code runs from).

    Raises:
        BundleError: no source, pip failed (a dependency without a wheel for the target, no index).
    """
    dest.mkdir(parents=True, exist_ok=True)
    if wheel is not None:
        shutil.copy2(wheel, dest / wheel.name)
    else:
        source = source or source_tree()
        if source is None:
            raise BundleError("no edgefleet source checkout to build the wheel from; pass --wheel FILE")
        _build_edgefleet_wheel(source, dest, pip)
    built = sorted(dest.glob("edgefleet-*.whl"))
    if len(built) != 1:
        raise BundleError(f"expected one edgefleet wheel in {dest}, found {[p.name for p in built]}")
    platforms = [arg for tag in platform_tags(arch, glibc) for arg in ("--platform", tag)]
    _run([*pip, "download", "--disable-pip-version-check", "--progress-bar", "off", "--dest", str(dest),
          "--only-binary", ":all:", "--implementation", "cp", "--python-version", python, *platforms,
          str(built[0]), "pip"],
         f"download the dependencies' wheels for Python {python} on {arch}")
    wheels = {p.name: _sha256(p) for p in sorted(dest.glob("*.whl"))}
    version = built[0].name.split("-")[1]
    bundle = Bundle(dest, python, arch, version, wheels)
    (dest / MANIFEST).write_text(json.dumps(bundle.as_dict(), indent=2, sort_keys=True) + "\n")
    return bundle


def load_bundle(path: Path, python: str | None = None, arch: str | None = None) -> Bundle:
    """A bundle built before, checked against its manifest and (when given) the image's target.

    Raises:
        BundleError: no manifest, a wheel missing or changed, or another Python/architecture.
    """
    try:
        data = json.loads((path / MANIFEST).read_text())
        bundle = Bundle(path, str(data["python"]), str(data["arch"]), str(data["edgefleet"]),
                        {str(k): str(v) for k, v in data["wheels"].items()})
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BundleError(f"{path} is not a bundle made by fleet-image bundle: {exc}") from exc
    for name, digest in bundle.wheels.items():
        if not (path / name).is_file() or _sha256(path / name) != digest:
            raise BundleError(f"bundle {path}: {name} is missing or changed since the bundle was built")
    if python is not None and bundle.python != python:
        raise BundleError(f"bundle {path} is for Python {bundle.python}, the image has Python {python}")
    if arch is not None and bundle.arch != arch:
        raise BundleError(f"bundle {path} is for {bundle.arch}, the image is {arch}")
    return bundle
