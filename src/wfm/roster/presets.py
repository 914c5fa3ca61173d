"""Rule presets from the domain brief: ``cn`` (PRC Labour Law, the default) and ``eu`` (Working Time Directive)."""

from __future__ import annotations

import datetime as dt

from wfm.roster.domain import BreakRule, RuleSet

_COMMON = {
    "min_rest_minutes": 11 * 60,
    "max_consecutive_days": 6,
    "max_days_per_week": 6,
    "edge_runs_exempt": True,
    "weekend_days": [5, 6],
    "night_start": dt.time(22, 0),
    "night_end": dt.time(6, 0),
    "night_min_overlap_min": 180,
    "handover_min": 0,
}

PRESETS: dict[str, RuleSet] = {
    # 8 h day / 40 h week; at least one rest day a week; overtime at most 3 h a day and 36 h a month;
    # a 30-60 min meal break in shifts over 6 h (30 min by default).
    "cn": RuleSet(
        standard_minutes_per_week=40 * 60,
        max_shift_minutes=(8 + 3) * 60,
        max_overtime_minutes_per_month=36 * 60,
        meal_break=BreakRule(min_shift_min=6 * 60 + 1, length_min=30),
        **_COMMON,
    ),
    # 48 h average week, 11 h daily rest, 24 h weekly rest, a break when the day exceeds 6 h.
    "eu": RuleSet(
        standard_minutes_per_week=40 * 60,
        max_average_minutes_per_week=48 * 60,
        meal_break=BreakRule(min_shift_min=6 * 60 + 1, length_min=30),
        **_COMMON,
    ),
    "none": RuleSet(edge_runs_exempt=True, weekend_days=[5, 6], handover_min=0),
}
