"""``edge-minion``'s command line: the help it prints, and what it leaves imported."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from edge_minion.cli import build_parser


@pytest.mark.parametrize("columns", ["50", "120", "", "junk"])
def test_help_is_what_argparse_formats(monkeypatch: pytest.MonkeyPatch, columns: str) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    parser = build_parser()
    stock = build_parser()
    stock.formatter_class = argparse.HelpFormatter
    assert parser.format_help() == stock.format_help()


def test_building_the_parser_leaves_shutil_unimported() -> None:
    code = ("import sys\nfrom edge_minion.cli import build_parser\nbuild_parser().format_help()\n"
            "print(sorted({'shutil', 'bz2', 'lzma'} & set(sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stderr
