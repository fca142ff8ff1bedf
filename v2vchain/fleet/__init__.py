"""Fleet V2V planning (pure, no chain): a fleet's vans with routes and time windows, the cost of each provider-consumer
meeting along both routes, the station outside option, and an exact capacitated matching."""

from .errors import BadWindow, DuplicateId, InvalidFleet, MissingField, OutOfRange, WrongType
from .plan import Meeting, Plan, plan_fleet
from .schema import Fleet, Prices, Station, Van, Waypoint, fleet_to_json, load_fleet, parse_fleet

__all__ = [
    "BadWindow",
    "DuplicateId",
    "Fleet",
    "InvalidFleet",
    "Meeting",
    "MissingField",
    "OutOfRange",
    "Plan",
    "Prices",
    "Station",
    "Van",
    "Waypoint",
    "WrongType",
    "fleet_to_json",
    "load_fleet",
    "parse_fleet",
    "plan_fleet",
]
