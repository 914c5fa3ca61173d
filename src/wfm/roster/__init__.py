"""Roster engine: a CP-SAT model assigns named employees to shifts and rest days against demand."""

from wfm.roster.domain import (
    Activity,
    BreakRule,
    Employee,
    IntervalRequirement,
    Pin,
    Request,
    RuleSet,
    Scenario,
    ShiftDemand,
    ShiftTemplate,
    Site,
    TimeOff,
    Weights,
)
from wfm.roster.solve import Conflict, Progress, RosterResult, SolveSettings, solve_roster

__all__ = [
    "Activity",
    "BreakRule",
    "Conflict",
    "Employee",
    "IntervalRequirement",
    "Pin",
    "Progress",
    "Request",
    "RosterResult",
    "RuleSet",
    "Scenario",
    "ShiftDemand",
    "ShiftTemplate",
    "Site",
    "SolveSettings",
    "TimeOff",
    "Weights",
    "solve_roster",
]
