"""Printing ``fleet`` results: each return as it arrives, the missing ones apart."""

from __future__ import annotations

import sys
from typing import Any

from cloud_master.waiter import Outcome


def _format(data: Any, out: str) -> str:
    try:
        from edge_minion.output import format_output
    except ImportError:  # pragma: no cover - output.py ships with the package
        from cloud_master.cli.common import format_data

        return format_data(data, "json" if out == "json" else "yaml")
    return str(format_output(data, out))


class Renderer:
    """Streams nested/txt/raw output; json and yaml print one document at the end."""

    def __init__(self, out: str, progress: bool = False) -> None:
        self.out = out
        self.progress = progress
        self.collected: dict[str, Any] = {}
        self._stream = out in ("nested", "txt", "raw")
        self._progress_shown = False

    def start(self, published: dict[str, Any]) -> None:
        if published.get("unknown"):
            print(f"note: grains never seen for {', '.join(published['unknown'])}; they decide themselves"
                  " whether they match", file=sys.stderr)

    def on_return(self, minion_id: str, load: dict[str, Any]) -> None:
        ret = load.get("return")
        self.collected[minion_id] = ret
        if self._stream:
            self._clear_progress()
            print(_format({minion_id: ret}, self.out), flush=True)

    def on_progress(self, answered: int, expected: int, running: list[str]) -> None:
        if not self.progress:
            return
        line = f"[{answered}/{expected} answered"
        line += f", still running on {', '.join(running)}]" if running else "]"
        end = "\r" if sys.stderr.isatty() else "\n"
        print(line.ljust(60), end=end, file=sys.stderr, flush=True)
        self._progress_shown = end == "\r"

    def _clear_progress(self) -> None:
        if self._progress_shown:
            print(" " * 60, end="\r", file=sys.stderr, flush=True)
            self._progress_shown = False

    def finish(self, outcome: Outcome) -> None:
        self._clear_progress()
        missing: dict[str, str] = {}
        for mid in outcome.offline:
            missing[mid] = "Minion did not return. [Not connected]"
        for mid in outcome.no_response:
            missing[mid] = "Minion did not return. [No response]"
        for mid in outcome.still_running:
            missing[mid] = f"Minion is still running the job; see: fleet-run jobs.lookup_jid {outcome.jid}"
        if self._stream:
            for mid, text in sorted(missing.items()):
                print(_format({mid: text}, self.out), flush=True)
        else:
            print(_format({**self.collected, **missing}, self.out), flush=True)
        if missing:
            print(f"fleet: {len(missing)} of {len(self.collected) + len(missing)} minions did not return "
                  f"(job {outcome.jid})", file=sys.stderr)
