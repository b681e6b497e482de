"""Command-line tools of the master: ``fleet-key`` (keys) and ``fleet-run`` (job cache).

Both work on the master's state directory directly, so they run with or without a
master process. Heavy modules are imported inside ``main`` so ``--help`` is fast.
"""
