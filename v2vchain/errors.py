"""The base of every exception v2vchain raises, and the ones no single package owns; each package keeps its own
errors in its `errors.py`, all under V2VError, so callers catch by meaning rather than by library."""

from __future__ import annotations


class V2VError(Exception):
    """Base of every v2vchain error."""


class InvalidInput(V2VError):
    """A value was rejected before anything was sent to the chain."""


class ConfigError(V2VError):
    """A setting is missing or wrong (chain URL, key, deployment file)."""


class DeploymentError(V2VError):
    """A contract could not be deployed or a recorded deployment is unusable."""
