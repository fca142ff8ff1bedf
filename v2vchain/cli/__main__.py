"""`python -m v2vchain.cli`: the same as the `v2v` command."""

from .main import app

app()
