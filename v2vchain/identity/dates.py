"""Validity dates as xsd:dateTimeStamp: the one lexical form VC 2.0 allows, so a date means one instant everywhere.

Python's `datetime.fromisoformat` alone accepts far more (a space for `T`, no seconds, the basic format, no time
zone, lower-case `t` and `z`); every one of those is a spelling another verifier would refuse or read differently.
The project's profile is a strict subset: four-digit years, whole seconds, and a zone of `Z` or +hh:mm/-hh:mm within
14 hours, since each date is also a uint64 expiry on-chain.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from .errors import CredentialError, MalformedCredential

MAX_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z, the last instant an ISO 8601 year of 4 digits can say
_DATE_TIME_STAMP = re.compile(
    r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
)


def iso(ts: int) -> str:
    """The canonical spelling: UTC with `Z`, whole seconds, one string per timestamp."""
    if not 0 <= ts <= MAX_TIMESTAMP:
        return f"@{ts}"  # only in messages: on-chain expiries may exceed year 9999
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_date_time_stamp(text: Any, error: type[CredentialError] = MalformedCredential) -> int:
    """The Unix time of an xsd:dateTimeStamp in the project's profile, or `error` for any other spelling."""
    if not isinstance(text, str) or not _DATE_TIME_STAMP.fullmatch(text):
        raise error(f"not an xsd:dateTimeStamp (YYYY-MM-DDThh:mm:ss with Z or ±hh:mm): {text!r}")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:  # a day the month does not have, such as 02-30
        raise error(f"not a calendar date-time: {text!r}") from None
    timestamp = int(moment.timestamp())
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise error(f"date-time {text!r} is outside 1970-01-01T00:00:00Z..9999-12-31T23:59:59Z")
    return timestamp
