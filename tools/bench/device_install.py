"""edge-minion installed as a Raspberry Pi gets it, for measuring what a device runs.

The image's first boot (``images/firstboot.sh``) installs edgefleet into a venv
from an offline bundle: the edgefleet wheel and its dependencies, and nothing
else (no ``master`` extra, no test tools, no editable-install hooks). This
builds the same bundle for this machine (:func:`cloud_master.image.bundle.build_bundle`)
and installs it the same way into ``dest``; the bench's minions run from there.
A development venv maps more at idle (``cryptography``'s ``cffi``, which
pycryptodomex then prefers, and the editable install's import hook), so
measuring from it would misstate a device.
"""

from __future__ import annotations

import platform
import subprocess
import sys
import venv
from pathlib import Path

from cloud_master.image.bundle import build_bundle

__all__ = ["device_install"]


def device_install(dest: Path) -> Path:
    """Build the bundle and the venv under ``dest``; returns the venv's ``bin`` directory."""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    bundle = build_bundle(dest / "bundle", python, platform.machine())
    env_dir = dest / "venv"
    venv.create(env_dir, with_pip=False)
    pip_wheel = next(bundle.path.glob("pip-*.whl"))
    subprocess.run(
        [str(env_dir / "bin" / "python"), f"{pip_wheel}/pip", "install", "--no-index", "--find-links",
         str(bundle.path), "--no-cache-dir", "--disable-pip-version-check", "--quiet", "edgefleet"],
        check=True,
    )
    return env_dir / "bin"


if __name__ == "__main__":
    print(device_install(Path(sys.argv[1])))
