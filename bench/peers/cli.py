"""The command line every peer's tool takes (``python -m bench.peers.<peer>_tool <op> …``),
the operations bench/systems.py asks of each system."""

from __future__ import annotations

import argparse
from typing import Any


def tool_parser(*extra_ops: str) -> argparse.ArgumentParser:
    """``setup``, ``reset``, ``fill``, ``enqueue-rate`` and ``latency``, plus ``extra_ops``
    that take no arguments."""
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="op", required=True)
    for op in ("setup", "reset", *extra_ops):
        sub.add_parser(op)
    add_common_ops(sub)
    return parser


def add_common_ops(sub: Any) -> None:
    """``fill``, ``enqueue-rate`` and ``latency``, with the options bench/systems.py gives every
    system's tool, ours too (``sub``: what ``add_subparsers()`` returned)."""
    p = sub.add_parser("fill")
    p.add_argument("--kind", default="noop")
    p.add_argument("--count", type=int, required=True)
    p = sub.add_parser("enqueue-rate")
    p.add_argument("--single", type=int, required=True)
    p.add_argument("--bulk", type=int, required=True)
    p = sub.add_parser("latency")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--mean-gap", type=float, required=True)
    p.add_argument("--out", required=True)
