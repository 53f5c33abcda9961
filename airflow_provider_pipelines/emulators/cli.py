"""The command line of an emulator: the options every emulator takes, and a config from them."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from airflow_provider_pipelines.emulators.faults import (
    LOST_REPLY_KINDS,
    RANDOM_FAULT_KINDS,
    parse_kinds,
    parse_lost_kinds,
)


@dataclass(frozen=True)
class EmulatorCli:
    """How the ``python -m airflow_provider_pipelines.emulators`` CLI builds one platform's emulator.

    ``add_arguments`` adds the platform's own options; ``create_app`` builds the application from the
    parsed options (common ones: ``token``, ``fault_rate``, ``fault_kinds``, ``seed``, ``retry_after``).
    """

    name: str
    default_port: int
    add_arguments: Callable[[argparse.ArgumentParser], None]
    create_app: Callable[[argparse.Namespace], web.Application]
    description: str = ""


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Options every emulator understands."""
    parser.add_argument("--token", default=None, help="require 'Authorization: Bearer <token>'")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="fraction of requests faulted (0..1)")
    parser.add_argument(
        "--fault-kinds",
        default="500,502,503,429,drop,malformed",
        help=f"comma-separated kinds among {','.join(sorted(RANDOM_FAULT_KINDS))}",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="seed of the random fault and lost reply generators"
    )
    parser.add_argument("--retry-after", type=float, default=1.0, help="Retry-After of 429 faults, seconds")
    parser.add_argument("--slow-seconds", type=float, default=2.0, help="delay of 'slow' faults, seconds")
    parser.add_argument(
        "--lost-reply-rate",
        type=float,
        default=0.0,
        help="fraction of mutations (starts, stops...) carried out whose reply is then lost (0..1)",
    )
    parser.add_argument(
        "--lost-reply-kinds",
        default=",".join(LOST_REPLY_KINDS),
        help=f"how a reply is lost: comma-separated kinds among {','.join(LOST_REPLY_KINDS)}",
    )


def common_config_options(args: argparse.Namespace) -> dict[str, Any]:
    """The fault options every emulator CLI shares, as keyword arguments of a platform's config."""
    return {
        "fault_rate": args.fault_rate,
        "fault_kinds": tuple(parse_kinds(args.fault_kinds)),
        "seed": args.seed,
        "retry_after": args.retry_after,
        "slow_seconds": args.slow_seconds,
        "lost_reply_rate": args.lost_reply_rate,
        "lost_reply_kinds": parse_lost_kinds(args.lost_reply_kinds),
    }


def parse_header_options(items: Iterable[str]) -> dict[str, str]:
    """``["X-Key=k3y", "Cookie=a=b"]`` -> ``{"X-Key": "k3y", "Cookie": "a=b"}`` (a CLI's ``--header``)."""
    headers: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--header needs NAME=VALUE, got {item!r}")
        headers[name.strip()] = value
    return headers
