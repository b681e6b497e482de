"""Errors of ``fleet-image``.

Tree::

    MasterError                      (cloud_master.errors)
    └── ImageError                   the image cannot be read, understood or written
        ├── ToolMissing (LookupError)  an external tool (mtools, debugfs, xz) is not installed
        ├── LayoutError (ValueError)   the partition table or boot partition is not a Pi OS layout
        └── BundleError                the offline install bundle cannot be built or does not fit

Failures of subprocesses and of the file system are translated here, with the
lower error kept as ``__cause__``.
"""

from __future__ import annotations

from cloud_master.errors import MasterError

__all__ = ["BundleError", "ImageError", "LayoutError", "ToolMissing"]


class ImageError(MasterError):
    """The image cannot be read, understood or written."""


class ToolMissing(ImageError, LookupError):
    """An external tool needed for this step is not installed."""


class LayoutError(ImageError, ValueError):
    """The image does not have the partition layout of a Raspberry Pi OS image."""


class BundleError(ImageError):
    """The offline install bundle cannot be built, or does not match the image."""
