"""edgefleet's cloud master: Salt-wire-compatible publish and return server."""

__version__ = "0.1.0"
