"""``python -m airflow_provider_pipelines.emulators {cdap,daggy,...,all} [options]``: serve emulators."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence

from aiohttp import web

from airflow_provider_pipelines.emulators.cli import EmulatorCli, add_common_arguments
from airflow_provider_pipelines.emulators.registry import EMULATORS as REGISTRY

# Every emulator of the registry: name -> its module.
EMULATORS: dict[str, str] = {name: spec.module_name for name, spec in REGISTRY.items()}


def load_cli(name: str) -> EmulatorCli:
    return REGISTRY[name].cli


def _platform_parser(
    cli: EmulatorCli, parser: argparse.ArgumentParser | None = None
) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog=cli.name)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=cli.default_port, help="0 picks a free port")
    add_common_arguments(parser)
    cli.add_arguments(parser)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_pipelines.emulators",
        description="Serve local emulators of the pipeline platforms' HTTP APIs.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name in EMULATORS:
        cli = load_cli(name)
        _platform_parser(cli, commands.add_parser(name, help=cli.description or name))
    every = commands.add_parser("all", help="every emulator, each on its own port")
    every.add_argument("--host", default="127.0.0.1")
    add_common_arguments(every)
    for name in EMULATORS:
        every.add_argument(f"--{name}-port", type=int, default=load_cli(name).default_port)
    return parser


def plan(args: argparse.Namespace) -> list[tuple[str, web.Application, str, int]]:
    """(name, application, host, port) of every emulator the command asks for."""
    if args.command != "all":
        cli = load_cli(args.command)
        return [(cli.name, cli.create_app(args), args.host, args.port)]
    every = argparse.ArgumentParser()
    add_common_arguments(every)
    common = {"host", *vars(every.parse_args([]))}
    apps = []
    for name in EMULATORS:
        cli = load_cli(name)
        options = _platform_parser(cli).parse_args([])
        for key in common:
            setattr(options, key, getattr(args, key))
        apps.append((name, cli.create_app(options), args.host, getattr(args, f"{name}_port")))
    return apps


async def serve(apps: Sequence[tuple[str, web.Application, str, int]]) -> None:
    """Serve until SIGTERM or SIGINT, printing one ``<name> emulator listening on <url>`` line each."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runners: list[web.AppRunner] = []
    try:
        for name, app, host, port in apps:
            runner = web.AppRunner(app, shutdown_timeout=1.0)
            await runner.setup()
            runners.append(runner)
            await web.TCPSite(runner, host, port).start()
            print(f"{name} emulator listening on http://{host}:{runner.addresses[0][1]}", flush=True)
        await stop.wait()
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        apps = plan(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(apps))
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
