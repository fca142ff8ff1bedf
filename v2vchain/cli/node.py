"""`v2v node ...`: run one vehicle's node."""

from __future__ import annotations

from pathlib import Path

import typer

from node.runner import serve

from .errors import Typer

node_app = Typer(help="The vehicle node service.", no_args_is_help=True)


@node_app.command("run")
def node_run(config: Path = typer.Option(..., exists=True, dir_okay=False, help="the node's JSON config")) -> None:
    """Serve one vehicle's node (key password and API token from the environment variables the config names)."""

    serve(config)
