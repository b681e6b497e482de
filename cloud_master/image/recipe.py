"""The reviewable first-boot recipe: the files in the checkout's ``images/`` directory.

``fleet-image prepare --recipe DIR`` takes an operator's adapted copy instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cloud_master.image.bundle import source_tree
from cloud_master.image.errors import ImageError

__all__ = ["RECIPE_FILES", "Recipe", "find_recipe"]

#: Recipe file -> its name in the payload directory on the boot partition.
RECIPE_FILES = {
    "firstboot.sh": "firstboot.sh",
    "edge-minion.service": "edge-minion.service",
    "power-helper": "edgefleet-power",
    "edgefleet-power.sudoers": "edgefleet-power.sudoers",
}
FIRSTRUN = "firstrun.sh"
USER_DATA = "user-data.yaml"


@dataclass(frozen=True)
class Recipe:
    path: Path

    def text(self, name: str) -> str:
        try:
            return (self.path / name).read_text(encoding="utf-8")
        except OSError as exc:
            raise ImageError(f"cannot read recipe file {self.path / name}: {exc}") from exc


def find_recipe(path: Path | None = None) -> Recipe:
    """The recipe at ``path``, else ``images/`` of the checkout this code runs from.

    Raises:
        ImageError: no such directory, or a recipe file is missing.
    """
    if path is None:
        tree = source_tree()
        if tree is None:
            raise ImageError("no images/ recipe found next to this edgefleet; pass --recipe DIR")
        path = tree / "images"
    missing = [n for n in (*RECIPE_FILES, FIRSTRUN, USER_DATA) if not (path / n).is_file()]
    if missing:
        raise ImageError(f"recipe {path} lacks {', '.join(missing)}")
    return Recipe(path)
