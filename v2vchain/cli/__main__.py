"""`python -m v2vchain.cli`: the same as the `v2v` command."""

from v2vchain.cli.main import app

app()
