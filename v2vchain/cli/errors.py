"""The one place the `v2v` command turns an expected failure into `error: <what was wrong>` and an exit code.

Every command of every `v2v` sub-app is registered through `Typer` below, so none needs its own try/except: the
project's errors (v2vchain.errors), file-system errors and malformed JSON become one line on stderr and exit code
`EXIT_ERROR`. Anything else is a bug and keeps its traceback. `V2V_DEBUG=1` keeps the traceback for every error.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from pydantic import ValidationError

from v2vchain.errors import V2VError

# 1 as before; 2 stays what `audit reconcile` / `audit clearing` / `demo` return when they *find* a violation, so a
# script can tell "the audit ran and found something" from "the audit could not run".
EXIT_ERROR = 1
DEBUG_ENV = "V2V_DEBUG"

F = TypeVar("F", bound=Callable[..., Any])


def describe(exc: BaseException) -> str | None:
    """The one-line message for an expected failure, or None for a bug (which keeps its traceback)."""
    if isinstance(exc, V2VError):
        return str(exc)
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON: {exc}"
    if isinstance(exc, OSError):
        if exc.filename is not None:
            return f"{exc.filename}: {exc.strerror or type(exc).__name__}"
        return str(exc) or type(exc).__name__
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors())
    return None


def guarded(command: F) -> F:
    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            message = describe(exc)
            if message is None or os.environ.get(DEBUG_ENV):
                raise
            typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
            raise typer.Exit(code=EXIT_ERROR) from None

    return run  # type: ignore[return-value]  # functools.wraps keeps the signature; mypy cannot see F survive


class Typer(typer.Typer):
    """typer.Typer whose every command runs through `guarded`."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        register = super().command(*args, **kwargs)

        def decorator(function: F) -> F:
            register(guarded(function))
            return function

        return decorator
