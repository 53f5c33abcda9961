"""The command line of an emulator: the options every emulator takes, and a config from them."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from airflow_provider_pipelines.emulators.faults import (
    LOST_REPLY_KINDS,
    RANDOM_FAULT_KINDS,
    parse_kinds,
    parse_lost_kinds,
)


@dataclass(frozen=True)
class Option:
    """A field of a platform's config, set from the command line by ``--<field with dashes>`` or ``flag``.

    A bool field's flag takes no value: it sets the opposite of the field's default. A ``repeat``
    option collects its uses into a list, which ``convert`` turns into the field's value. Any other
    option takes one value, of the type of the field's default (``type`` where the default is ``None``),
    among ``choices`` if given, then ``convert``-ed if given. ``help`` may say ``%(default)s``.
    """

    field: str
    flag: str | None = None
    help: str | None = None
    type: Callable[[str], Any] | None = None
    choices: Sequence[str] | None = None
    metavar: str | None = None
    repeat: bool = False
    convert: Callable[[Any], Any] | None = None

    @property
    def option_string(self) -> str:
        return self.flag or "--" + self.field.replace("_", "-")

    @property
    def dest(self) -> str:
        return self.option_string.removeprefix("--").replace("-", "_")

    def add_to(self, parser: argparse.ArgumentParser, default: Any) -> None:
        """Add the option to ``parser``; ``default`` is the field's default."""
        if isinstance(default, bool):
            switch = "store_false" if default else "store_true"
            parser.add_argument(self.option_string, action=switch, help=self.help)
            return
        if self.repeat:
            options: dict[str, Any] = {"action": "append", "default": []}
        else:
            value_type = self.type or (type(default) if isinstance(default, int | float) else None)
            options = {"type": value_type, "default": default, "choices": self.choices}
        parser.add_argument(self.option_string, metavar=self.metavar, help=self.help, **options)

    def value(self, args: argparse.Namespace) -> Any:
        """The field's value from the parsed ``args``."""
        value = getattr(args, self.dest)
        return value if self.convert is None else self.convert(value)


class CliEmulator(Protocol):
    """What :class:`EmulatorCli` needs of a platform's emulator class."""

    config_class: Any
    cli_options: Sequence[Option]

    def __init__(self, config: Any) -> None: ...

    def create_app(self) -> web.Application: ...


@dataclass(frozen=True)
class EmulatorCli:
    """How the ``python -m airflow_provider_pipelines.emulators`` CLI builds one platform's emulator.

    The platform's options are its emulator class's ``cli_options``; :meth:`create_app` builds its config
    from them and the options every emulator takes (:func:`add_common_arguments`). ``--token T`` sets the
    config's ``token``, or adds ``Authorization: Bearer T`` to ``required_headers`` where the config has
    no ``token``.
    """

    name: str
    default_port: int
    emulator_class: type[CliEmulator]
    description: str = ""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add the platform's own options to ``parser``."""
        defaults = self.emulator_class.config_class()
        for option in self.emulator_class.cli_options:
            option.add_to(parser, getattr(defaults, option.field))

    def config(self, args: argparse.Namespace) -> Any:
        """The platform's config from parsed options; ``ValueError`` for a bad value."""
        config_class = self.emulator_class.config_class
        defaults = config_class()
        values = {option.field: option.value(args) for option in self.emulator_class.cli_options}
        if hasattr(defaults, "token"):
            values["token"] = args.token
        elif args.token:
            values["required_headers"] = {
                **(values.get("required_headers") or {}),
                "Authorization": f"Bearer {args.token}",
            }
        return config_class(**values, **common_config_options(args))

    def create_app(self, args: argparse.Namespace) -> web.Application:
        return self.emulator_class(self.config(args)).create_app()


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


HEADER_OPTION = Option(
    "required_headers",
    "--header",
    help="a header every request must carry (repeatable); --token T adds 'Authorization: Bearer T'",
    metavar="NAME=VALUE",
    repeat=True,
    convert=lambda items: parse_header_options(items) or None,
)
