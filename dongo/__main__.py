"""Command line: ``python -m dongo demo [--uri URI]``."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of ``python -m dongo`` and the ``dongo`` script."""
    parser = argparse.ArgumentParser(prog="python -m dongo", description="dongo command line")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the documented tour and check every step")
    demo.add_argument(
        "--uri",
        default="memory://",
        help="where to run it: memory:// (default, in-process) or mongodb://host:port "
        "(a fresh database is created and dropped at the end)",
    )
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run_tour

        return run_tour(args.uri)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
