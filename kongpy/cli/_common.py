"""What every command shares: options, verbosity, error reporting, prefix lookup."""
from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

import click

from kongpy import conf
from kongpy.errors import KongpyError

VERBOSITY = "kongpy.verbosity"

log = logging.getLogger("kongpy.cli")


def _set_verbosity(level: int) -> Callable[[click.Context, click.Parameter, bool], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if not value or ctx.meta.get(VERBOSITY, 0) >= level:
            return
        ctx.meta[VERBOSITY] = level
        logging.basicConfig(stream=sys.stderr, force=True,
                            level=logging.DEBUG if level >= 2 else logging.INFO,
                            format="%(asctime)s [%(levelname)s] %(name)s: %(message)s")
    return callback


def verbosity(func: Callable) -> Callable:
    func = click.option("--vv", is_flag=True, expose_value=False, is_eager=True,
                        callback=_set_verbosity(2),
                        help="Debug output, with tracebacks on errors.")(func)
    return click.option("--v", is_flag=True, expose_value=False, is_eager=True,
                        callback=_set_verbosity(1), help="Verbose output.")(func)


conf_option = click.option("-c", "--conf", "conf_path", type=click.Path(dir_okay=False),
                           help="Configuration file.")
prefix_option = click.option("-p", "--prefix", help="Prefix (working directory) of the node.")
start_timeout_option = click.option("--timeout", type=float, default=60, show_default=True,
                                    help="Seconds to wait for the node to answer.")


def error_message(exc: BaseException) -> str:
    """The text after ``Error:``: kongpy's own errors are written for this line."""
    if isinstance(exc, KongpyError):
        text = exc.message.strip() or str(exc).strip()
    elif isinstance(exc, OSError) and exc.filename:
        text = f"{exc.filename}: {exc.strerror}"
    else:
        text = str(exc).strip()
    return text or exc.__class__.__name__


USAGE_EXIT = 1  # Kong's CLI exits 1 on an unknown command or option too (click: 2)


class Group(click.Group):
    """The CLI's one error edge: any failure becomes `Error: <message>` and exit 1
    (tracebacks only with --vv), usage errors included, as with Kong's CLI.
    Commands raise; they do not print errors."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            exc.exit_code = USAGE_EXIT
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            exc.exit_code = USAGE_EXIT
            raise
        except (click.exceptions.Exit, click.Abort):
            raise
        except click.ClickException:
            if ctx.meta.get(VERBOSITY, 0) >= 2:
                traceback.print_exc()
            raise
        except Exception as exc:  # noqa: BLE001 - this is the error boundary
            if ctx.meta.get(VERBOSITY, 0) >= 2:
                traceback.print_exc()
            raise click.ClickException(error_message(exc)) from None


def load_config(conf_path: str | None, prefix: str | None = None,
                enforce: bool = True, overrides: dict[str, Any] | None = None) -> conf.Config:
    overrides = dict(overrides or {}, **({"prefix": prefix} if prefix else {}))
    config = conf.load(conf_path, overrides=overrides, enforce=enforce)
    # --v: where the configuration came from; --vv: all of it
    if config.source:
        log.info("reading configuration file at %s", config.source)
    else:
        log.info("no configuration file found; using the defaults and the environment")
    log.info("prefix: %s, datastore: %s", config["prefix"], config["database"])
    for name, value in sorted(config.redacted().items()):
        log.debug("%s = %s", name, value)
    return config


def existing_prefix(root: str) -> str:
    """``root`` if it is a directory; else Kong's ``no such prefix`` error
    (stop, quit, reload and health name it apart from a node that is down)."""
    if not os.path.isdir(root):
        raise click.ClickException(f"no such prefix: {root}")
    return root


def resolve_prefix(prefix: str | None, conf_path: str | None = None) -> str:
    """`-p`, else KONGPY_PREFIX / KONG_PREFIX, else the conf's `prefix`.

    Finding a prefix (stop, quit, health) never refuses a conf for being
    unsafe to start with: a node must stay stoppable after its conf changed.
    """
    if prefix:
        return os.path.abspath(prefix)
    return load_config(conf_path, enforce=False)["prefix"]
