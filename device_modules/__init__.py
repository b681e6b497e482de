"""Execution modules called as ``module.function`` on the device."""
