"""Shared by the Curtois tests: a whole model's solution read as the benchmark's solution table."""

from __future__ import annotations

import pandas as pd

from wfm.roster.model import RosterModel


def benchmark_table(built: RosterModel, solution: list[int]) -> pd.DataFrame:
    """A whole model's solution (values by proto index) as the benchmark's ``employee,day,shift`` rows, read off
    its assignments."""
    ids = [employee.id for employee in built.scenario.employees]
    rows = [
        (ids[e], day, option.template)
        for (e, day), entries in built.by_employee_day.items()
        for var, option, _ in entries
        if solution[var.Index()]
    ]
    return pd.DataFrame(rows, columns=["employee", "day", "shift"])
