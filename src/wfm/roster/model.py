"""The CP-SAT roster model: named employees on shift options, against interval and shift demand.

Decision variables: ``x[e, o, k]`` = employee ``e`` works shift option ``o`` on skill ``k``. Breaks are placed
implicitly: for each option and skill an integer count of people taking their break at each allowed start
(their sum equals the people on that option); the counts are handed to named people after the solve. This is
exact for coverage and far smaller than a break variable per person.

Every hard rule of an employee belongs to a named rule group. In explanation mode each group is guarded by an
enforcement literal, so CP-SAT can name the groups that clash (sufficient assumptions for infeasibility).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from wfm.roster.domain import Activity, Employee, RuleSet, Scenario
from wfm.roster.options import ShiftOption, expand_options, requirement_by_interval
from wfm.roster.presets import PRESETS

NO_SKILL = ""


@dataclass(frozen=True)
class RuleGroup:
    """One employee's hard rule (or one pin): the unit a conflict explanation names."""

    employee_id: str
    rule: str
    detail: str = ""


@dataclass
class ObjectiveTerms:
    """Objective terms by name, so the solved objective can be broken down."""

    terms: dict[str, list[tuple[cp_model.LinearExprT, int]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, name: str, expr: cp_model.LinearExprT, coef: int) -> None:
        if coef:
            self.terms[name].append((expr, coef))

    def expression(self) -> cp_model.LinearExprT:
        return sum(coef * expr for items in self.terms.values() for expr, coef in items)

    def breakdown(self, solver: cp_model.CpSolver) -> dict[str, int]:
        return {name: int(sum(coef * solver.Value(expr) for expr, coef in items)) for name, items in self.terms.items()}


@dataclass(frozen=True)
class RequestTerm:
    """An employee's weighted request on a day, as the model holds it: granted where the sum of ``variables``
    (proto indices) is positive for an ``on`` request, zero for an off one; ``coef`` in the objective."""

    employee: int
    day: int
    variables: tuple[int, ...]
    on: bool
    coef: int

    def unmet(self, solution: list[int]) -> bool:
        """Whether a whole solution (values by proto index) leaves the request unmet."""
        return any(solution[v] for v in self.variables) != self.on


def activity_applies(activity: Activity, skill: str) -> bool:
    """Whether shifts worked on ``skill`` hold ``activity``."""
    return activity.skills is None or skill in activity.skills


def site_rules(scenario: Scenario) -> RuleSet:
    """The preset merged with the site's overrides."""
    return PRESETS[scenario.preset].merged(scenario.rules)


def employee_rules(scenario: Scenario, employee: Employee) -> RuleSet:
    """The rules in force for one employee: preset, then site overrides, then the contract."""
    return site_rules(scenario).merged(employee.rules)


def full_weeks(days: int) -> list[range]:
    """7-day blocks from the first date that lie wholly inside the horizon."""
    return [range(w * 7, w * 7 + 7) for w in range(days // 7)]


def weekend_groups(scenario: Scenario, weekend_days: Iterable[int]) -> list[list[int]]:
    """Day indices of each weekend (weekend dates of the same ISO week) inside the horizon."""
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    weekend = set(weekend_days)
    for day, date in enumerate(scenario.dates):
        if date.weekday() in weekend:
            iso = date.isocalendar()
            groups[(iso.year, iso.week)].append(day)
    return list(groups.values())


class RosterModel:
    """Builds the CP-SAT model for a scenario. ``explain`` guards each rule group by a literal."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        explain: bool = False,
        skip: frozenset[RuleGroup] = frozenset(),
        options: list[ShiftOption] | None = None,
    ):
        """``options``: the shift options of a scenario with the same site, rules, dates, templates and
        activities, when already expanded (models of one scenario built many times over)."""
        self.scenario = scenario
        self.rules = site_rules(scenario)
        self.options: list[ShiftOption] = options if options is not None else expand_options(scenario, self.rules)
        self.interval_min = scenario.site.interval_min
        self.explain = explain
        self.skip = skip
        self.model = cp_model.CpModel()
        self.objective = ObjectiveTerms()
        self.group_literals: dict[RuleGroup, cp_model.IntVar] = {}
        self.x: dict[tuple[int, int, str], cp_model.IntVar] = {}
        self.by_employee_day: dict[tuple[int, int], list[tuple[cp_model.IntVar, ShiftOption, str]]] = defaultdict(list)
        self.by_option: dict[int, list[tuple[cp_model.IntVar, int, str]]] = defaultdict(list)
        self.work: dict[tuple[int, int], cp_model.IntVar] = {}
        self.requests: list[RequestTerm] = []  # those with a variable to grant or refuse them
        self.break_counts: dict[tuple[int, str], dict[int, cp_model.IntVar]] = {}
        self.activity_counts: dict[tuple[int, str, str], dict[int, cp_model.IntVar]] = {}
        self.activities = {a.id: a for a in scenario.activities}
        self.templates = {t.id: t for t in scenario.templates}
        self.dates = scenario.dates
        self.date_index = {date: i for i, date in enumerate(self.dates)}
        self.origin = dt.datetime.combine(scenario.start_date, dt.time())
        self._build()

    # ----- vocabulary -------------------------------------------------------------------------------------
    def _guard(self, employee: Employee, rule: str, detail: str = "") -> list[cp_model.IntVar] | None:
        """Enforcement literals for a rule group; None when the group is skipped (relaxed)."""
        group = RuleGroup(employee.id, rule, detail)
        if group in self.skip:
            return None
        if not self.explain:
            return []
        if group not in self.group_literals:
            self.group_literals[group] = self.model.new_bool_var(f"rule[{employee.id},{rule},{detail}]")
        return [self.group_literals[group]]

    def _hard(self, guard: list[cp_model.IntVar] | None, constraint: cp_model.BoundedLinearExpression) -> None:
        if guard is None:
            return
        self.model.add(constraint).only_enforce_if(guard)

    def _forbid_runs(
        self, guard: list | None, literals: list[cp_model.IntVar], minimum: int, edge_exempt: bool, of_work: bool
    ) -> None:
        """Forbid runs shorter than ``minimum`` of work (``of_work``) or of rest, as in OR-Tools' shift example.

        A run is bounded on each side by the opposite state; with ``edge_exempt`` runs touching the horizon
        start or end are not checked (the benchmark's and most planners' reading of unknown history).
        """
        if guard is None or minimum <= 1:
            return
        horizon = len(literals)
        for length in range(1, minimum):
            for start in range(0, horizon - length + 1):
                end = start + length  # exclusive
                touches_edge = start == 0 or end == horizon
                if touches_edge and edge_exempt:
                    continue
                inside = literals[start:end]
                clause = [lit.Not() for lit in inside] if of_work else list(inside)
                if start > 0:
                    clause.append(literals[start - 1] if of_work else literals[start - 1].Not())
                if end < horizon:
                    clause.append(literals[end] if of_work else literals[end].Not())
                self.model.add_bool_or(clause).only_enforce_if(guard)

    # ----- building ---------------------------------------------------------------------------------------
    def _eligible(self, employee: Employee, rules: RuleSet, option: ShiftOption) -> list[str]:
        """Skills on which the employee may work this option (empty: not at all)."""
        template = self.templates[option.template]
        date = self.dates[option.day]
        if date in employee.days_off or date in employee.pinned_rest_days:
            return []
        if rules.allowed_templates is not None and option.template not in rules.allowed_templates:
            return []
        if (rules.max_shifts_per_template or {}).get(option.template, 1) == 0:
            return []
        if rules.max_shift_minutes is not None and option.paid_min > rules.max_shift_minutes:
            return []
        if employee.time_off:
            start = self.origin + dt.timedelta(minutes=option.start_min)
            end = start + dt.timedelta(minutes=option.length_min)
            if any(off.start < end and start < off.end for off in employee.time_off):
                return []
        if template.skills is None:
            return list(employee.skills) or [NO_SKILL]
        return [k for k in template.skills if k in employee.skills]

    def _build(self) -> None:
        scenario = self.scenario
        for e, employee in enumerate(scenario.employees):
            rules = employee_rules(scenario, employee)
            for option in self.options:
                for skill in self._eligible(employee, rules, option):
                    var = self.model.new_bool_var(f"x[{employee.id},{option.index},{skill}]")
                    self.x[e, option.index, skill] = var
                    self.by_employee_day[e, option.day].append((var, option, skill))
                    self.by_option[option.index].append((var, e, skill))
            for day in range(scenario.days):
                work = self.model.new_bool_var(f"work[{employee.id},{day}]")
                self.work[e, day] = work
                self.model.add(cp_model.LinearExpr.sum([v for v, _, _ in self.by_employee_day[e, day]]) == work)
            self._employee_rules(e, employee, rules)
            self._employee_soft(e, employee, rules)
        self._coverage()
        self._shift_demand()
        self._role_rules()
        self._fairness()
        self._published()
        self.model.minimize(self.objective.expression())

    def _employee_rules(self, e: int, employee: Employee, rules: RuleSet) -> None:
        scenario = self.scenario
        days = scenario.days
        work = [self.work[e, d] for d in range(days)]
        paid_by_day = [
            cp_model.LinearExpr.weighted_sum(
                [v for v, _, _ in self.by_employee_day[e, d]], [o.paid_min for _, o, _ in self.by_employee_day[e, d]]
            )
            for d in range(days)
        ]
        total = sum(paid_by_day)

        for pin in employee.pinned:
            day = self.date_index.get(pin.date)
            if day is None:
                continue
            matching = [
                v
                for v, o, k in self.by_employee_day[e, day]
                if o.template == pin.template
                and (pin.start is None or o.start_time() == pin.start)
                and (pin.skill is None or k == pin.skill)
            ]
            self._hard(self._guard(employee, "pinned", str(pin.date)), sum(matching) == 1)

        for week in full_weeks(days):
            label = f"week of {self.dates[week.start]}"
            week_minutes = sum(paid_by_day[d] for d in week)
            if rules.max_minutes_per_week is not None:
                self._hard(
                    self._guard(employee, "max_minutes_per_week", label), week_minutes <= rules.max_minutes_per_week
                )
            if rules.min_minutes_per_week is not None:
                self._hard(
                    self._guard(employee, "min_minutes_per_week", label), week_minutes >= rules.min_minutes_per_week
                )
            if rules.max_days_per_week is not None:
                self._hard(
                    self._guard(employee, "max_days_per_week", label),
                    sum(work[d] for d in week) <= rules.max_days_per_week,
                )
        if rules.max_minutes_total is not None:
            self._hard(self._guard(employee, "max_minutes_total"), total <= rules.max_minutes_total)
        if rules.min_minutes_total is not None:
            self._hard(self._guard(employee, "min_minutes_total"), total >= rules.min_minutes_total)
        if rules.max_average_minutes_per_week is not None:
            cap = rules.max_average_minutes_per_week * days // 7
            self._hard(self._guard(employee, "max_average_minutes_per_week"), total <= cap)
        if rules.max_overtime_minutes_per_month is not None and rules.standard_minutes_per_week is not None:
            standard = (
                rules.standard_minutes_per_week * (days // 7) + rules.standard_minutes_per_week * min(days % 7, 5) // 5
            )
            cap = standard + rules.max_overtime_minutes_per_month * days // 30
            self._hard(self._guard(employee, "max_overtime_minutes_per_month"), total <= cap)

        if rules.max_consecutive_days is not None and rules.max_consecutive_days < days:
            guard = self._guard(employee, "max_consecutive_days")
            span = rules.max_consecutive_days + 1
            for start in range(days - span + 1):
                self._hard(guard, sum(work[start : start + span]) <= rules.max_consecutive_days)
        edge_exempt = bool(rules.edge_runs_exempt)
        if rules.min_consecutive_days:
            self._forbid_runs(
                self._guard(employee, "min_consecutive_days"), work, rules.min_consecutive_days, edge_exempt, True
            )
        if rules.min_consecutive_rest_days:
            self._forbid_runs(
                self._guard(employee, "min_consecutive_rest_days"),
                work,
                rules.min_consecutive_rest_days,
                edge_exempt,
                False,
            )

        if rules.max_weekends is not None:
            groups = weekend_groups(scenario, rules.weekend_days or [])
            if len(groups) > rules.max_weekends:
                self._hard(
                    self._guard(employee, "max_weekends"), self._weekends_worked(e, groups) <= rules.max_weekends
                )
        if rules.max_nights is not None:
            nights = [v for d in range(days) for v, o, _ in self.by_employee_day[e, d] if o.night]
            if len(nights) > rules.max_nights:
                self._hard(self._guard(employee, "max_nights"), sum(nights) <= rules.max_nights)
        uses_of: dict[str, list] = defaultdict(list)
        if rules.max_shifts_per_template:
            for d in range(days):
                for v, o, _ in self.by_employee_day[e, d]:
                    uses_of[o.template].append(v)
        for template, maximum in (rules.max_shifts_per_template or {}).items():
            uses = uses_of[template]
            if len(uses) > maximum:
                self._hard(self._guard(employee, "max_shifts_per_template", template), sum(uses) <= maximum)

        # One at-most-one per day and first template over all its forbidden followers: as many constraints as
        # templates, not pairs (Curtois 24 has 461 pairs of 32 templates), and a stronger LP than pairwise. In
        # explanation mode each pair keeps its own guard, so a conflict names the pair.
        successions: list[tuple[str, list[str], list]] = []
        for first, second in rules.forbidden_successions or []:
            guard = self._guard(employee, "forbidden_succession", f"{first}->{second}")
            if guard is None:
                continue
            grouped = next((s for f, s, g in successions if f == first and not g), None)
            if grouped is not None and not guard:
                grouped.append(second)
            else:
                successions.append((first, [second], guard))
        by_template: list[dict[str, list]] = [defaultdict(list) for _ in range(days)] if successions else []
        for d, templates in enumerate(by_template):
            for v, o, _ in self.by_employee_day[e, d]:
                templates[o.template].append(v)
        for first, seconds, guard in successions:
            for d in range(days - 1):
                a = by_template[d].get(first)
                b = [v for second in seconds for v in by_template[d + 1].get(second, ())]
                if not (a and b):  # a side without options that day
                    continue
                if guard:  # explanation mode: the pair's own guard
                    self._hard(guard, sum(a) + sum(b) <= 1)
                else:  # one at-most-one: Curtois 24 (~1M of them) builds in 25 s, not 37 as linear sums
                    self.model.add_at_most_one(a + b)

        if rules.min_rest_minutes:
            guard = self._guard(employee, "min_rest_minutes")
            handover = rules.handover_min or 0
            for d in range(days - 1):
                today, tomorrow = self.by_employee_day[e, d], self.by_employee_day[e, d + 1]
                if not today or not tomorrow:
                    continue
                latest_end = max(o.end_min for _, o, _ in today)
                earliest_start = min(o.start_min for _, o, _ in tomorrow) - handover
                if earliest_start - latest_end >= rules.min_rest_minutes or guard is None:
                    continue
                end = sum(o.end_min * v for v, o, _ in today)
                start = sum((o.start_min - handover) * v for v, o, _ in tomorrow)
                self.model.add(start - end >= rules.min_rest_minutes).only_enforce_if([work[d], work[d + 1], *guard])

    def _employee_soft(self, e: int, employee: Employee, rules: RuleSet) -> None:
        weights = self.scenario.weights
        days = self.scenario.days
        work = [self.work[e, d] for d in range(days)]
        all_x = [(v, o) for d in range(days) for v, o, _ in self.by_employee_day[e, d]]
        per_hour = weights.paid_hour + round(employee.hourly_cost * weights.cost_per_currency)
        for v, o in all_x:
            self.objective.add("paid_hours", v, round(o.paid_min * per_hour / 60))

        for request in employee.requests:
            day = self.date_index.get(request.date)
            if day is None:
                continue
            grants = [work[day]] if request.template is None else [
                v for v, o, _ in self.by_employee_day[e, day] if o.template == request.template
            ]
            coef = request.weight * weights.request
            if coef and grants:
                on = request.kind == "on"
                self.requests.append(RequestTerm(e, day, tuple(v.Index() for v in grants), on, coef))
                self.objective.add("requests", 1 - sum(grants) if on else sum(grants), coef)
            elif coef and request.kind == "on":  # no shift of the template that day: never granted
                self.objective.add("requests", 1, coef)

        if rules.standard_minutes_per_week is not None and weights.overtime_hour:
            for week in full_weeks(days):
                minutes = sum(o.paid_min * v for d in week for v, o, _ in self.by_employee_day[e, d])
                quarters = self.model.new_int_var(0, 7 * 96, "")  # overtime in 15-min units
                self.model.add(15 * quarters >= minutes - rules.standard_minutes_per_week)
                self.objective.add("overtime", quarters, max(1, weights.overtime_hour // 4))

        if employee.target_minutes_total is not None and weights.contract_deviation_hour:
            total = sum(o.paid_min * v for v, o in all_x)
            quarters = self.model.new_int_var(0, days * 96, "")
            self.model.add(15 * quarters >= total - employee.target_minutes_total)
            self.model.add(15 * quarters >= employee.target_minutes_total - total)
            self.objective.add("contract_deviation", quarters, max(1, weights.contract_deviation_hour // 4))

        if weights.stable_start:
            for w in range((days + 6) // 7):
                week = range(w * 7, min(days, w * 7 + 7))
                by_start: dict[int, list] = defaultdict(list)
                for d in week:
                    for v, o, _ in self.by_employee_day[e, d]:
                        by_start[o.start_min % 1440].append(v)
                if len(by_start) > 1:
                    for variables in by_start.values():
                        used = self.model.new_bool_var("")
                        for v in variables:
                            self.model.add_implication(v, used)
                        self.objective.add("start_time_changes", used, weights.stable_start)

        if weights.isolated_rest_day and days >= 3:
            for d in range(1, days - 1):
                isolated = self.model.new_bool_var("")
                self.model.add_bool_or([work[d - 1].Not(), work[d], work[d + 1].Not(), isolated])
                self.objective.add("isolated_rest_days", isolated, weights.isolated_rest_day)

    def _coverage(self) -> None:
        scenario = self.scenario
        weights = scenario.weights
        if not scenario.requirements:
            return
        wanted = requirement_by_interval(scenario)
        skills = {k for _, k in wanted}
        on_shift: dict[tuple[int, str], list] = defaultdict(list)
        on_break: dict[tuple[int, str], list] = defaultdict(list)
        for option in self.options:
            for skill in skills:
                people = [v for v, _, k in self.by_option[option.index] if k == skill]
                if not people:
                    continue
                count = self.model.new_int_var(0, len(people), "")
                self.model.add(count == sum(people))
                for t in option.intervals:
                    on_shift[t, skill].append(count)
                if option.break_starts:
                    starts = {}
                    for b in option.break_starts:
                        starts[b] = self.model.new_int_var(0, len(people), "")
                        for t in range(b, b + option.break_intervals):
                            on_break[t, skill].append(starts[b])
                    self.model.add(sum(starts.values()) == count)
                    self.break_counts[option.index, skill] = starts
                for block in option.activities:
                    if not activity_applies(self.activities[block.activity], skill):
                        continue
                    starts = {b: self.model.new_int_var(0, len(people), "") for b in block.starts}
                    for b, var in starts.items():
                        for t in range(b, b + block.n_intervals):
                            on_break[t, skill].append(var)  # off the queue like a break
                    self.model.add(sum(starts.values()) == count)
                    self.activity_counts[option.index, skill, block.activity] = starts
        steps = weights.under_coverage_steps
        self.coverage_vars: dict[tuple[int, str], tuple] = {}
        for (t, skill), (required, maximum) in sorted(wanted.items()):
            covered = sum(on_shift[t, skill]) - sum(on_break[t, skill])
            short = self.model.new_int_var(0, required, "")
            extra = self.model.new_int_var(0, max(0, len(on_shift[t, skill])) * len(self.scenario.employees), "")
            self.model.add(covered + short - extra == required)
            penalty = self.model.new_int_var(0, weights.under_coverage * steps * max(required, 1), "")
            for j in range(1, steps + 1):
                # Tangent lines of a convex piecewise curve: the j-th missing person costs j times the first.
                self.model.add(penalty >= weights.under_coverage * (j * short - j * (j - 1) // 2))
            self.objective.add("under_coverage", penalty, 1)
            self.objective.add("over_coverage", extra, weights.over_coverage)
            if maximum is not None:
                above = self.model.new_int_var(0, len(self.scenario.employees), "")
                self.model.add(above >= covered - maximum)
                self.objective.add("over_maximum", above, weights.over_maximum)
            self.coverage_vars[t, skill] = (covered, short, extra)

    def _shift_demand(self) -> None:
        people_on: dict[tuple[int, str], list] = defaultdict(list)
        if self.scenario.shift_demand:
            for o in self.options:
                people_on[o.day, o.template].extend(v for v, _, _ in self.by_option[o.index])
        for demand in self.scenario.shift_demand:
            day = self.date_index.get(demand.date)
            if day is None:
                continue
            people = people_on[day, demand.template]
            if len(people) == 1:
                # One eligible person (a line solved alone, wfm.roster.sequential): the penalty is linear in that
                # person's assignment, with no slack variables (Curtois 24: half the variables of a line's model).
                if demand.required:
                    self.objective.add("shift_demand_under", demand.required - people[0], demand.weight_under)
                else:
                    self.objective.add("shift_demand_over", people[0], demand.weight_over)
                continue
            short = self.model.new_int_var(0, demand.required, "")
            extra = self.model.new_int_var(0, len(people), "")
            self.model.add(sum(people) + short - extra == demand.required)
            self.objective.add("shift_demand_under", short, demand.weight_under)
            self.objective.add("shift_demand_over", extra, demand.weight_over)

    def _role_on_duty(self, role: str, team: str | None = None) -> tuple[dict[int, list], int]:
        """Per interval, the head counts of ``role`` members (of ``team``, if given) per shift option covering
        it; and the member count.

        One count variable per option keeps each interval's constraint short (a sum over options, not people).
        """
        members = {
            e for e, emp in enumerate(self.scenario.employees)
            if role in emp.roles and (team is None or emp.team == team)
        }
        per_interval: dict[int, list] = defaultdict(list)
        for option in self.options:
            people = [v for v, e, _ in self.by_option[option.index] if e in members]
            if not people:
                continue
            count = self.model.new_int_var(0, len(people), "")
            self.model.add(count == sum(people))
            for t in option.intervals:
                per_interval[t].append(count)
        return per_interval, len(members)

    def _role_rules(self) -> None:
        roles = self.scenario.roles
        weights = self.scenario.weights
        if not roles.leader_whenever_on_duty and roles.agents_per_supervisor is None:
            return
        agents, agent_count = self._role_on_duty(roles.agent_role)
        if roles.leader_whenever_on_duty:
            teams = sorted({e.team for e in self.scenario.employees if e.team}) if roles.leader_per_team else [None]
            for team in teams:
                team_agents, team_count = (agents, agent_count) if team is None else self._role_on_duty(
                    roles.agent_role, team
                )
                leaders, _ = self._role_on_duty(roles.leader_role, team)
                for t, people in team_agents.items():
                    anyone = self.model.new_bool_var("")
                    self.model.add(sum(people) <= team_count * anyone)
                    missing = self.model.new_bool_var("")
                    self.model.add(sum(leaders.get(t, [])) + missing >= anyone)
                    self.objective.add("leader_missing", missing, weights.leader_missing)
        if roles.agents_per_supervisor is not None:
            supervisors, _ = self._role_on_duty(roles.supervisor_role)
            for t, people in agents.items():
                short = self.model.new_int_var(0, agent_count, "")
                self.model.add(roles.agents_per_supervisor * (sum(supervisors.get(t, [])) + short) >= sum(people))
                self.objective.add("supervisor_missing", short, weights.supervisor_missing)

    def _fairness(self) -> None:
        weights = self.scenario.weights
        n = len(self.scenario.employees)
        if n < 2:
            return
        if weights.weekend_fairness:
            groups = weekend_groups(self.scenario, self.rules.weekend_days or [])
            if groups:
                counts = [self._weekends_worked(e, groups) for e in range(n)]
                self._spread_counts("weekend_fairness", counts, weights.weekend_fairness)
        if weights.night_fairness and any(o.night for o in self.options):
            counts = []
            for e in range(n):
                nights = [v for d in range(self.scenario.days) for v, o, _ in self.by_employee_day[e, d] if o.night]
                counts.append(sum(nights) if nights else None)
            self._spread_counts("night_fairness", counts, weights.night_fairness)

    def _weekends_worked(self, e: int, groups: list[list[int]]) -> cp_model.LinearExprT:
        """Number of weekends (day-index groups) with any work, as exact flags."""
        flags = []
        for group in groups:
            flag = self.model.new_bool_var("")
            for d in group:
                self.model.add_implication(self.work[e, d], flag)
            self.model.add(flag <= sum(self.work[e, d] for d in group))
            flags.append(flag)
        return sum(flags)

    def weekend_joints(self) -> np.ndarray:
        """The work variables (proto indices, shape (k, 2)) of each two days of one weekend, for every employee
        with a weekend limit: pairs that ``lns.improve``'s steps keep whole where they are whole."""
        pairs = []
        for e, employee in enumerate(self.scenario.employees):
            rules = employee_rules(self.scenario, employee)
            if rules.max_weekends is None:
                continue
            for group in weekend_groups(self.scenario, rules.weekend_days or []):
                pairs.extend((self.work[e, a].Index(), self.work[e, b].Index()) for a, b in itertools.pairwise(group))
        return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)

    def weekend_demand_share(self) -> float:
        """People wanted on weekend days (shift demand) over the weekend days the staff may work (each
        employee's weekend limit, both days of each weekend): above 1, some weekend demand must go unmet."""
        scenario = self.scenario
        days = 0
        weekend_dates: set[dt.date] = set()
        for employee in scenario.employees:
            rules = employee_rules(scenario, employee)
            groups = weekend_groups(scenario, rules.weekend_days or [])
            weekend_dates.update(scenario.dates[d] for group in groups for d in group)
            days += sum(sorted((len(group) for group in groups), reverse=True)[: rules.max_weekends])  # None: all
        wanted = sum(d.required for d in scenario.shift_demand if d.date in weekend_dates)
        return wanted / days if days else 0.0

    def _spread_counts(self, name: str, counts: list, weight: int) -> None:
        counts = [c for c in counts if c is not None and not isinstance(c, int)]
        if len(counts) < 2:
            return
        top = self.model.new_int_var(0, self.scenario.days, "")
        bottom = self.model.new_int_var(0, self.scenario.days, "")
        for count in counts:
            self.model.add(top >= count)
            self.model.add(bottom <= count)
        self.objective.add(name, top - bottom, weight)

    def _published(self) -> None:
        published = self.scenario.published
        if not published:
            return
        weight = self.scenario.weights.change
        index = {emp.id: e for e, emp in enumerate(self.scenario.employees)}
        planned: set[tuple[int, int]] = set()
        for shift in published:
            e, day = index.get(shift.employee_id), self.date_index.get(shift.date)
            if e is None or day is None:
                continue
            planned.add((e, day))
            kept = [
                v
                for v, o, k in self.by_employee_day[e, day]
                if o.template == shift.template and o.start_time() == shift.start and (shift.skill in (None, k))
            ]
            self.objective.add("changes", 1 - sum(kept), weight)
        for e in {e for e, _ in planned}:
            for day in range(self.scenario.days):
                if (e, day) not in planned:
                    self.objective.add("changes", self.work[e, day], weight)
