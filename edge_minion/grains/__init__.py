"""The minion's grains: core grains collected from the machine, and the persisted store.

* :func:`collect` gathers the core grains, one source per module
  (``os_release``, ``kernel``, ``cpu``, ``memory``, ``hostname``, ``network``,
  ``machine``, ``python``, ``board``);
* :class:`Grains` merges them with configured and persisted grains and
  implements the device context's ``GrainStore``.
"""

from edge_minion.grains.collect import collect
from edge_minion.grains.store import Grains

__all__ = ["Grains", "collect"]
