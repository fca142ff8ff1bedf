"""The audit package's exceptions: each subclasses v2vchain's V2VError and says what to do next."""

from __future__ import annotations

from v2vchain.chain.errors import ChainUnavailable
from v2vchain.errors import ConfigError, InvalidInput, V2VError


class AuditError(V2VError):
    """Base of the indexer's and the audit commands' errors."""


class InvalidFilter(InvalidInput):
    """A filter given to an audit command is malformed (address, DID, time, area, range)."""


class UnknownAddress(AuditError):
    """An address the command was asked about appears in no indexed event, or holds no contract code."""


class SchemaMismatch(AuditError):
    """The database file was written by another schema version of the indexer."""


class NotAnAuditDatabase(AuditError):
    """The file is missing, not SQLite, or SQLite without the indexer's tables."""


class ChainMismatch(ConfigError):
    """The database indexes another chain or another deployment than the one given."""


class RpcTimeout(ChainUnavailable):
    """The node did not answer in time, even after the block range was halved."""


class RangeTooLarge(AuditError):
    """The node refused a log query as too large (too many results, response too big); retried on a smaller range."""


class RpcError(ChainUnavailable):
    """The node answered a JSON-RPC call with an error the indexer cannot work around."""


class IncompleteIndex(AuditError):
    """The index holds no completed run (e.g. the file a failed `v2v audit index` left): nothing can be checked."""
