"""edgefleet's lightweight minion for Raspberry Pi edge devices."""

__version__ = "0.1.0"
