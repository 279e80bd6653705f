"""The `plait` command: serve, status, stop, --version.

Usage errors exit 2 (argparse), failures print one readable line and exit 1.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from plait.core.loop import run
from plait.epsilon.version import version
from plait.serve import DEFAULT_DATA_DIR, ServeError, parse_listen_overrides, serve, status, stop


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plait",
        description="plait: an asyncio networking toolkit and application server.",
    )
    parser.add_argument("--version", action="version", version=f"plait {version.short()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def with_data(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument(
            "--data", "-d", type=Path, default=DEFAULT_DATA_DIR, metavar="DIR",
            help=f"the server's data directory (default: ./{DEFAULT_DATA_DIR})",
        )
        return sub

    serve_cmd = with_data(commands.add_parser(
        "serve", help="run the application server in the foreground",
        description="Start every installed service and the control endpoint (a UNIX socket in "
                    "the data directory), print what is served, and run until SIGINT/SIGTERM "
                    "or `plait stop`.",
    ))
    serve_cmd.add_argument(
        "--listen", action="append", default=[], metavar="NAME=ENDPOINT",
        help="serve service NAME on ENDPOINT instead of its default, e.g. "
             "amp=tcp:9000:interface=127.0.0.1 (repeatable)",
    )
    with_data(commands.add_parser(
        "status", help="list the running server's services and endpoints",
        description="Ask the server running in the data directory what it serves.",
    ))
    with_data(commands.add_parser(
        "stop", help="stop the running server gracefully",
        description="Ask the server running in the data directory to stop, and wait for it.",
    ))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            run(serve(args.data, parse_listen_overrides(args.listen)))
        elif args.command == "status":
            print(run(status(args.data)))
        elif args.command == "stop":
            if not run(stop(args.data)):
                raise ServeError(f"the server in {args.data} acknowledged stop but is still running")
            print("stopped")
    except ServeError as exc:
        print(f"plait {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
