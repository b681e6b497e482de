"""Shared pieces of the benchmarks: process metrics, medians, key preseeding, timing a command."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

from edge_minion.protocol import crypto_openssl


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def rss_mib(pid: int, children: bool = False) -> float:
    try:
        proc = psutil.Process(pid)
        total = proc.memory_info().rss
        if children:
            total += sum(c.memory_info().rss for c in proc.children(recursive=True))
        return total / 2**20
    except psutil.NoSuchProcess:
        return float("nan")


def pss_mib(pid: int, children: bool = False) -> float:
    """Proportional set size: shared pages split between the processes sharing them."""
    try:
        proc = psutil.Process(pid)
        procs = [proc, *(proc.children(recursive=True) if children else [])]
        return sum(float(getattr(p.memory_full_info(), "pss", float("nan"))) for p in procs) / 2**20
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return float("nan")


def cpu_seconds(pid: int, children: bool = False) -> float:
    """User + system CPU seconds of ``pid`` (and, with ``children``, of its live descendants)."""
    try:
        proc = psutil.Process(pid)
        procs = [proc, *(proc.children(recursive=True) if children else [])]
        return float(sum(t.user + t.system for t in (p.cpu_times() for p in procs)))
    except psutil.NoSuchProcess:
        return float("nan")


def timed(argv: Sequence[str], timeout: float = 300) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    return time.perf_counter() - started, proc


def write_minion_key(state_dir: Path, bits: int = 2048) -> str:
    """Give a minion state dir its key pair (as the minion would make it); returns the public PEM."""
    pki = state_dir / "pki"
    pki.mkdir(parents=True, exist_ok=True)
    key = crypto_openssl.generate_private_key(bits)
    (pki / "minion.pem").write_bytes(crypto_openssl.private_pem(key))
    pub = crypto_openssl.public_pem(key)
    (pki / "minion.pub").write_text(pub + "\n")
    return pub


def fmt(value: float, digits: int = 2) -> str:
    return "n/a" if value != value else f"{value:.{digits}f}"  # NaN check
