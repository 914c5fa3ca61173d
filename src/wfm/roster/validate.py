"""Independent roster validator: checks a roster (as in roster.csv) against every rule of a scenario.

It shares no code with the model builder (it reads the scenario's domain objects and presets only), so the
tests can use it as an independent judge of the solver, and planners can check rosters made by hand.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from dataclasses import dataclass

import pandas as pd

from wfm.roster.domain import BreakRule, Employee, RuleSet, Scenario, ShiftTemplate
from wfm.roster.presets import PRESETS

REQUIRED_COLUMNS = ["employee_id", "date", "start", "end", "skill", "breaks", "paid_minutes", "template"]


@dataclass(frozen=True)
class Violation:
    employee_id: str
    date: str
    rule: str
    message: str


@dataclass(frozen=True)
class _Shift:
    employee_id: str
    date: dt.date
    start: dt.datetime
    end: dt.datetime
    template: str
    skill: str
    breaks: tuple[tuple[dt.datetime, dt.datetime], ...]
    paid_minutes: int
    activities: tuple[tuple[str, dt.datetime, dt.datetime], ...] = ()


def _rules_for(scenario: Scenario, employee: Employee) -> RuleSet:
    return PRESETS[scenario.preset].merged(scenario.rules).merged(employee.rules)


def _clock(value: dt.time) -> int:
    return value.hour * 60 + value.minute


def _span_after(shift_start: dt.datetime, span: str) -> tuple[dt.datetime, dt.datetime]:
    """'HH:MM-HH:MM' as date-times on or after the shift start (written here again, not imported from the
    solver's code, so that the validator stays an independent judge)."""
    first, second = (dt.time.fromisoformat(p.strip()) for p in span.split("-"))
    begin = dt.datetime.combine(shift_start.date(), first)
    if begin < shift_start:
        begin += dt.timedelta(days=1)
    end = dt.datetime.combine(begin.date(), second)
    if end <= begin:
        end += dt.timedelta(days=1)
    return begin, end


def _parse(roster: pd.DataFrame) -> tuple[list[_Shift], list[Violation]]:
    problems: list[Violation] = []
    missing = [c for c in REQUIRED_COLUMNS if c not in roster.columns]
    if missing:
        return [], [Violation("", "", "format", f"roster is missing column(s) {', '.join(missing)}")]
    shifts = []
    for number, row in enumerate(roster.itertuples(index=False), start=2):
        try:
            start = dt.datetime.fromisoformat(str(row.start))
            end = dt.datetime.fromisoformat(str(row.end))
            date = dt.date.fromisoformat(str(row.date))
            text = "" if pd.isna(row.breaks) else str(row.breaks)
            breaks = [_span_after(start, span) for span in filter(None, text.split(";"))]
            activities = []
            text = getattr(row, "activities", "")  # optional column: rosters without activities lack it
            for entry in filter(None, ("" if pd.isna(text) else str(text)).split(";")):
                name, _, span = entry.strip().rpartition(" ")
                a_start, a_end = _span_after(start, span)
                activities.append((name, a_start, a_end))
            skill = "" if pd.isna(row.skill) else str(row.skill)
            shifts.append(
                _Shift(
                    str(row.employee_id),
                    date,
                    start,
                    end,
                    str(row.template),
                    skill,
                    tuple(breaks),
                    int(row.paid_minutes),
                    tuple(activities),
                )
            )
        except (ValueError, TypeError) as exc:
            problems.append(Violation(str(row.employee_id), str(row.date), "format", f"row {number}: {exc}"))
    return shifts, problems


def _night_minutes(shift: _Shift, rules: RuleSet) -> int:
    if rules.night_start is None or rules.night_end is None:
        return 0
    total = 0
    day = shift.start.date() - dt.timedelta(days=1)
    while day <= shift.end.date():
        window_start = dt.datetime.combine(day, rules.night_start)
        window_end = dt.datetime.combine(day, rules.night_end)
        if window_end <= window_start:
            window_end += dt.timedelta(days=1)
        overlap = (min(shift.end, window_end) - max(shift.start, window_start)).total_seconds() / 60
        total += max(0, int(overlap))
        day += dt.timedelta(days=1)
    return total


def validate_roster(scenario: Scenario, roster: pd.DataFrame) -> list[Violation]:
    """Every hard-rule violation of the roster, by employee, date and rule."""
    shifts, violations = _parse(roster)
    employees = {e.id: e for e in scenario.employees}
    templates = {t.id: t for t in scenario.templates}
    dates = scenario.dates
    first, last = dates[0], dates[-1]
    by_employee: dict[str, list[_Shift]] = defaultdict(list)

    def add(shift_or_id, date, rule: str, message: str) -> None:
        violations.append(Violation(shift_or_id, str(date), rule, message))

    for shift in shifts:
        employee = employees.get(shift.employee_id)
        template = templates.get(shift.template)
        if employee is None:
            add(shift.employee_id, shift.date, "unknown_employee", "employee not in the scenario")
            continue
        if template is None:
            add(shift.employee_id, shift.date, "unknown_template", f"template {shift.template!r} not in the scenario")
            continue
        if not first <= shift.date <= last:
            add(shift.employee_id, shift.date, "horizon", "date outside the horizon")
        by_employee[shift.employee_id].append(shift)
        _check_shift(scenario, employee, template, _rules_for(scenario, employee), shift, add)

    for employee in scenario.employees:
        rules = _rules_for(scenario, employee)
        mine = sorted(by_employee.get(employee.id, []), key=lambda s: s.start)
        _check_employee(scenario, employee, rules, mine, add)
    return violations


def _check_shift(
    scenario: Scenario, employee: Employee, template: ShiftTemplate, rules: RuleSet, shift: _Shift, add
) -> None:
    e, d = employee.id, shift.date
    start_clock = _clock(shift.start.time())
    earliest = _clock(template.earliest_start)
    latest = _clock(template.latest_start) if template.latest_start else earliest
    step = template.start_step_min or scenario.site.interval_min
    if shift.start.date() != shift.date or not earliest <= start_clock <= latest or (start_clock - earliest) % step:
        add(e, d, "template_start", f"start {shift.start:%H:%M} is not a start of template {template.id}")
    length = int((shift.end - shift.start).total_seconds() // 60)
    lengths = [template.length_min] if isinstance(template.length_min, int) else template.length_min
    if length not in lengths:
        add(e, d, "template_length", f"length {length} min is not a length of template {template.id}")
    if template.weekdays is not None and d.weekday() not in template.weekdays:
        add(e, d, "template_days", f"template {template.id} is not used on weekday {d.weekday()}")
    skill_ok = (shift.skill in employee.skills) or (not employee.skills and shift.skill == "")
    if not skill_ok or (template.skills is not None and shift.skill not in template.skills):
        add(e, d, "skill", f"skill {shift.skill!r} not held by the employee or not worked on {template.id}")
    if rules.allowed_templates is not None and template.id not in rules.allowed_templates:
        add(e, d, "allowed_templates", f"template {template.id} is not in the contract")
    if d in employee.days_off:
        add(e, d, "days_off", "works on an approved day off")
    if d in employee.pinned_rest_days:
        add(e, d, "pinned_rest_day", "works on a rest day pinned by the leader")
    for off in employee.time_off:
        if off.start < shift.end and shift.start < off.end:
            add(e, d, "time_off", f"overlaps approved time off {off.start:%Y-%m-%d %H:%M}-{off.end:%Y-%m-%d %H:%M}")
    # Breaks: the applicable rule (template's own, else the meal break) and its window.
    candidates = template.breaks if template.breaks is not None else ([rules.meal_break] if rules.meal_break else [])
    applicable = [b for b in candidates if length >= b.min_shift_min]
    rule = max(applicable, key=lambda b: b.min_shift_min) if applicable else None
    unpaid = 0
    if rule is None and shift.breaks:
        add(e, d, "breaks", "break given in a shift that has none")
    if rule is not None:
        if len(shift.breaks) != 1:
            add(e, d, "breaks", f"needs one break of {rule.length_min} min, has {len(shift.breaks)}")
        for b_start, b_end in shift.breaks:
            minutes = (b_end - b_start).total_seconds() / 60
            if minutes < rule.length_min:
                add(e, d, "breaks", f"break {b_start:%H:%M}-{b_end:%H:%M} is shorter than {rule.length_min} min")
            if b_start < shift.start + dt.timedelta(minutes=rule.earliest_after_start_min) or b_end > (
                shift.end - dt.timedelta(minutes=rule.latest_end_before_end_min)
            ):
                add(e, d, "breaks", f"break {b_start:%H:%M}-{b_end:%H:%M} is outside its window")
        unpaid = 0 if rule.paid else rule.length_min
    _check_activities(scenario, employee, rule, shift, add)
    expected_paid = length - unpaid + (rules.handover_min or 0)
    if shift.paid_minutes != expected_paid:
        add(e, d, "paid_minutes", f"paid minutes {shift.paid_minutes} should be {expected_paid}")
    if rules.max_shift_minutes is not None and shift.paid_minutes > rules.max_shift_minutes:
        add(e, d, "max_shift_minutes", f"{shift.paid_minutes} paid min exceeds {rules.max_shift_minutes}")


def _check_activities(scenario: Scenario, employee: Employee, rule: BreakRule | None, shift: _Shift, add) -> None:
    """Each activity the shift can hold is there once, long enough, inside its window and clear of the break;
    no other activity is."""
    e, d = employee.id, shift.date
    grid = scenario.site.interval_min
    midnight = dt.datetime.combine(d, dt.time())

    def minutes(moment: dt.datetime) -> int:
        return int((moment - midnight).total_seconds() // 60)

    given: dict[str, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for name, a_start, a_end in shift.activities:
        given[name].append((a_start, a_end))
    known = {a.id for a in scenario.activities}
    for name in set(given) - known:
        add(e, d, "activities", f"unknown activity {name!r}")
    for activity in scenario.activities:
        applies = activity.on(d) and (activity.skills is None or shift.skill in activity.skills)
        block = -(-activity.length_min // grid) * grid
        low = max(minutes(shift.start), _clock(activity.earliest_start))
        high = min(minutes(shift.end), _clock(activity.latest_end))
        starts = list(range(-(-low // grid) * grid, high - block + 1, grid))
        if rule is not None:  # the solver keeps activities out of the whole break window
            window_low = -(-(minutes(shift.start) + rule.earliest_after_start_min) // grid) * grid
            window_high = (minutes(shift.end) - rule.latest_end_before_end_min) // grid * grid
            starts = [t for t in starts if t + block <= window_low or t >= window_high]
        placed = given.get(activity.id, [])
        if not (applies and starts):
            if placed:
                add(e, d, "activities", f"{activity.id} in a shift that does not hold it")
            continue
        if len(placed) != 1:
            add(e, d, "activities", f"needs one {activity.id} of {activity.length_min} min, has {len(placed)}")
            continue
        a_start, a_end = placed[0]
        if (a_end - a_start).total_seconds() / 60 < activity.length_min:
            what = f"{activity.id} {a_start:%H:%M}-{a_end:%H:%M}"
            add(e, d, "activities", f"{what} is shorter than {activity.length_min} min")
        if minutes(a_start) < low or minutes(a_end) > high:
            add(e, d, "activities", f"{activity.id} {a_start:%H:%M}-{a_end:%H:%M} is outside the shift or its window")
        if any(b_start < a_end and a_start < b_end for b_start, b_end in shift.breaks):
            add(e, d, "activities", f"{activity.id} {a_start:%H:%M}-{a_end:%H:%M} overlaps the break")


def _runs(flags: list[bool], value: bool) -> list[tuple[int, int]]:
    """(start, length) of each maximal run of ``value``."""
    runs, start = [], None
    for i, flag in enumerate([*flags, not value]):
        if flag == value and start is None:
            start = i
        elif flag != value and start is not None:
            runs.append((start, i - start))
            start = None
    return runs


def _check_employee(scenario: Scenario, employee: Employee, rules: RuleSet, shifts: list[_Shift], add) -> None:
    e = employee.id
    dates = scenario.dates
    index = {date: i for i, date in enumerate(dates)}
    worked = [False] * len(dates)
    per_day: dict[dt.date, list[_Shift]] = defaultdict(list)
    for shift in shifts:
        per_day[shift.date].append(shift)
        if shift.date in index:
            worked[index[shift.date]] = True
    for date, items in per_day.items():
        if len(items) > 1:
            add(e, date, "one_shift_per_day", f"{len(items)} shifts on one date")
    for pin in employee.pinned:
        if pin.date not in index:
            continue
        ok = [
            s
            for s in per_day.get(pin.date, [])
            if s.template == pin.template
            and (pin.start is None or s.start.time() == pin.start)
            and (pin.skill is None or s.skill == pin.skill)
        ]
        if not ok:
            add(e, pin.date, "pinned", f"pinned {pin.template} not worked")
    for earlier, later in itertools.pairwise(shifts):
        rest = (later.start - dt.timedelta(minutes=rules.handover_min or 0) - earlier.end).total_seconds() / 60
        if rules.min_rest_minutes and rest < rules.min_rest_minutes:
            add(e, later.date, "min_rest_minutes", f"{rest:.0f} min rest after the shift of {earlier.date}")
        if (later.date - earlier.date).days == 1 and (earlier.template, later.template) in {
            tuple(p) for p in rules.forbidden_successions or []
        }:
            add(e, later.date, "forbidden_succession", f"{later.template} may not follow {earlier.template}")
    total = sum(s.paid_minutes for s in shifts)
    days = len(dates)
    for w in range(days // 7):
        week = dates[w * 7 : w * 7 + 7]
        minutes = sum(s.paid_minutes for s in shifts if s.date in week)
        count = sum(worked[w * 7 : w * 7 + 7])
        if rules.max_minutes_per_week is not None and minutes > rules.max_minutes_per_week:
            add(e, week[0], "max_minutes_per_week", f"{minutes} min in the week")
        if rules.min_minutes_per_week is not None and minutes < rules.min_minutes_per_week:
            add(e, week[0], "min_minutes_per_week", f"{minutes} min in the week")
        if rules.max_days_per_week is not None and count > rules.max_days_per_week:
            add(e, week[0], "max_days_per_week", f"{count} days in the week")
    if rules.max_minutes_total is not None and total > rules.max_minutes_total:
        add(e, dates[0], "max_minutes_total", f"{total} min over the horizon")
    if rules.min_minutes_total is not None and total < rules.min_minutes_total:
        add(e, dates[0], "min_minutes_total", f"{total} min over the horizon")
    if rules.max_average_minutes_per_week is not None and total * 7 > rules.max_average_minutes_per_week * days:
        add(e, dates[0], "max_average_minutes_per_week", f"{total} min over {days} days")
    if rules.max_overtime_minutes_per_month is not None and rules.standard_minutes_per_week is not None:
        full_weeks, rest = divmod(days, 7)
        standard = rules.standard_minutes_per_week * full_weeks + rules.standard_minutes_per_week * min(rest, 5) // 5
        cap = standard + rules.max_overtime_minutes_per_month * days // 30
        if total > cap:
            add(e, dates[0], "max_overtime_minutes_per_month", f"{total} min exceeds standard + overtime cap {cap}")
    exempt = bool(rules.edge_runs_exempt)
    for value, minimum, rule in (
        (True, rules.min_consecutive_days, "min_consecutive_days"),
        (False, rules.min_consecutive_rest_days, "min_consecutive_rest_days"),
    ):
        if not minimum:
            continue
        for start, length in _runs(worked, value):
            at_edge = start == 0 or start + length == days
            if length < minimum and not (exempt and at_edge):
                add(e, dates[start], rule, f"run of {length} day(s), minimum {minimum}")
    if rules.max_consecutive_days is not None:
        for start, length in _runs(worked, True):
            if length > rules.max_consecutive_days:
                add(e, dates[start], "max_consecutive_days", f"run of {length} days")
    if rules.max_weekends is not None:
        weekend = set(rules.weekend_days or [])
        weeks = {tuple(d.isocalendar())[:2] for d, w in zip(dates, worked, strict=True) if w and d.weekday() in weekend}
        if len(weeks) > rules.max_weekends:
            add(e, dates[0], "max_weekends", f"{len(weeks)} weekends worked")
    if rules.max_nights is not None:
        nights = sum(1 for s in shifts if _is_night(s, rules, scenario))
        if nights > rules.max_nights:
            add(e, dates[0], "max_nights", f"{nights} night shifts")
    for template, maximum in (rules.max_shifts_per_template or {}).items():
        used = sum(1 for s in shifts if s.template == template)
        if used > maximum:
            add(e, dates[0], "max_shifts_per_template", f"{used} x {template}, maximum {maximum}")


def _is_night(shift: _Shift, rules: RuleSet, scenario: Scenario) -> bool:
    template = next((t for t in scenario.templates if t.id == shift.template), None)
    if template is not None and template.night is not None:
        return template.night
    return rules.night_min_overlap_min is not None and _night_minutes(shift, rules) >= rules.night_min_overlap_min
