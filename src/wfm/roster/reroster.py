"""Re-rostering a published roster after an absence: the absent person is off, everyone else keeps their shifts
unless a change is needed (each changed employee-day costs ``weights.change`` in the objective)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace

import pandas as pd

from wfm.roster.domain import PublishedShift, Scenario
from wfm.roster.io import ScenarioError
from wfm.roster.solve import Progress, RosterResult, SolveSettings, solve_roster

CHANGE_COLUMNS = ["employee_id", "date", "before", "after"]


def published_shifts(roster: pd.DataFrame) -> list[PublishedShift]:
    """A roster table (``roster.csv`` columns) as the published shifts a re-roster keeps."""
    return [
        PublishedShift(
            employee_id=str(r.employee_id),
            date=dt.date.fromisoformat(str(r.date)),
            template=str(r.template),
            start=dt.datetime.fromisoformat(str(r.start)).time(),
            skill=str(r.skill) or None,
        )
        for r in roster.itertuples()
    ]


def with_absence(scenario: Scenario, roster: pd.DataFrame, employee_id: str, dates: list[dt.date]) -> Scenario:
    """The scenario with ``employee_id`` off on ``dates`` and ``roster`` as the published roster to keep."""
    changed = scenario.model_copy(deep=True)
    person = next((e for e in changed.employees if e.id == employee_id), None)
    if person is None:
        raise ScenarioError(f"employee_id: {employee_id!r} is not in the scenario")
    outside = [d for d in dates if not 0 <= (d - scenario.start_date).days < scenario.days]
    if outside:
        raise ScenarioError(f"dates: {outside[0]} is outside the roster ({scenario.start_date}, {scenario.days} days)")
    person.days_off = sorted({*person.days_off, *dates})
    changed.published = published_shifts(roster)
    return changed


def roster_changes(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Employee-days whose shift differs between two rosters: added, removed (``rest``) or moved."""

    def cells(roster: pd.DataFrame) -> dict[tuple[str, str], str]:
        return {
            (str(r.employee_id), str(r.date)): f"{str(r.start)[11:16]}-{str(r.end)[11:16]} {r.skill}".strip()
            for r in roster.itertuples()
        }

    old, new = cells(before), cells(after)
    rows = [
        (employee, date, old.get((employee, date), "rest"), new.get((employee, date), "rest"))
        for employee, date in sorted(old.keys() | new.keys())
        if old.get((employee, date)) != new.get((employee, date))
    ]
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


def re_roster(
    scenario: Scenario,
    roster: pd.DataFrame,
    employee_id: str,
    dates: list[dt.date],
    settings: SolveSettings | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> tuple[Scenario, RosterResult, pd.DataFrame]:
    """Re-roster after an absence; returns the changed scenario, the new roster and the changes."""
    changed = with_absence(scenario, roster, employee_id, dates)
    settings = settings or SolveSettings()
    if settings.hint is None:  # start from the published roster: it is nearly right
        settings = replace(settings, hint=roster)
    result = solve_roster(changed, settings, progress)
    return changed, result, roster_changes(roster, result.roster)
