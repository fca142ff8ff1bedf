"""Validity dates are xsd:dateTimeStamp in one strict profile: any other spelling is refused, never guessed at."""

from __future__ import annotations

import pytest

from v2vchain.identity.dates import MAX_TIMESTAMP, iso, parse_date_time_stamp
from v2vchain.identity.errors import MalformedCredential, MalformedPresentation

NOON_UTC = 1_700_049_600  # 2023-11-15T12:00:00Z


@pytest.mark.parametrize(
    "text",
    ["2023-11-15T12:00:00Z", "2023-11-15T14:00:00+02:00", "2023-11-15T07:30:00-04:30", "2023-11-16T02:00:00+14:00"],
)
def test_a_date_time_stamp_in_any_zone_names_its_instant(text: str) -> None:
    assert parse_date_time_stamp(text) == NOON_UTC


def test_iso_writes_the_canonical_utc_spelling_that_parses_back() -> None:
    assert iso(NOON_UTC) == "2023-11-15T12:00:00Z"
    assert parse_date_time_stamp(iso(0)) == 0
    assert parse_date_time_stamp(iso(MAX_TIMESTAMP)) == MAX_TIMESTAMP


@pytest.mark.parametrize(
    "text",
    [
        "2023-11-15T12:00:00",  # no time zone: a local time, a different instant in every place
        "2023-11-15 12:00:00Z",  # a space for T
        "2023-11-15t12:00:00z",  # lower-case designators
        "20231115T120000Z",  # the basic format
        "2023-11-15T12:00Z",  # no seconds
        "2023-11-15T12:00:00.5Z",  # fractions: not a whole-second expiry
        "2023-11-15T24:00:00Z",  # end of day
        "2023-11-15T12:00:00+15:00",  # beyond ±14 hours
        "2023-11-15T12:00:00+0200",  # offset without its colon
        "2023-11-15T12:00:00+02",  # offset without minutes
        "2023-02-30T12:00:00Z",  # a day February does not have
        "12023-11-15T12:00:00Z",  # a five-digit year
        "1969-12-31T23:59:59Z",  # before the Unix epoch: no uint64 expiry
        " 2023-11-15T12:00:00Z",
        "2023-11-15T12:00:00Z\n",
        "2023-11-15",
        "",
    ],
)
def test_any_other_spelling_is_refused(text: str) -> None:
    with pytest.raises(MalformedCredential):
        parse_date_time_stamp(text)


@pytest.mark.parametrize("value", [NOON_UTC, None, ["2023-11-15T12:00:00Z"]])
def test_a_value_that_is_not_a_string_is_refused(value: object) -> None:
    with pytest.raises(MalformedCredential):
        parse_date_time_stamp(value)


def test_the_caller_chooses_the_error() -> None:
    with pytest.raises(MalformedPresentation):
        parse_date_time_stamp("tomorrow", MalformedPresentation)
