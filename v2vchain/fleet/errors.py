"""The fleet package's exceptions: each names the offending field by its JSON path."""

from __future__ import annotations

from typing import Any

from v2vchain.errors import InvalidInput


class InvalidFleet(InvalidInput):
    """A fleet file breaks the schema. `field` is the JSON path of the bad value (e.g. `vans[2].route[0].lat`)."""

    def __init__(self, field: str, value: Any, reason: str) -> None:
        self.field, self.value, self.reason = field, value, reason
        super().__init__(f"{field}: {reason} (got {value!r})")


class MissingField(InvalidFleet):
    def __init__(self, field: str) -> None:
        super().__init__(field, None, "required field is missing")


class WrongType(InvalidFleet):
    def __init__(self, field: str, value: Any, expected: str) -> None:
        self.expected = expected
        super().__init__(field, value, f"must be {expected}")


class OutOfRange(InvalidFleet):
    pass


class BadWindow(InvalidFleet):
    """A waypoint's window is reversed, or the route's windows are not in time order."""


class DuplicateId(InvalidFleet):
    pass
