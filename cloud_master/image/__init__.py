"""``fleet-image``: Raspberry Pi OS images that install the minion and enrol it at first boot.

Modules, in the order ``prepare`` uses them: :mod:`.disk` (copy, xz, MBR),
:mod:`.fat` (the boot partition through mtools), :mod:`.rootfs` (debugfs peeks),
:mod:`.target` (bookworm firstrun.sh or trixie cloud-init), :mod:`.bundle`
(offline wheels), :mod:`.recipe` (the reviewable ``images/`` files),
:mod:`.payload` (rendered text) and :mod:`.prepare`.
"""

from cloud_master.image.errors import BundleError, ImageError, LayoutError, ToolMissing
from cloud_master.image.prepare import PrepareOptions, WifiSettings, prepare

__all__ = ["BundleError", "ImageError", "LayoutError", "PrepareOptions", "ToolMissing", "WifiSettings", "prepare"]
