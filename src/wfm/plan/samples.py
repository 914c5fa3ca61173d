"""The embedded plan files of the three businesses (``src/wfm/data/plan_<business>.yaml``).

They are generated here so that their staff lists stay consistent with the sample demand; regenerate with
``python -m wfm.plan.samples`` after changing this module. ``examples/`` links to the same files.

* call centre: inbound calls (Erlang A, 80/20, 60 s patience, 20 % shrinkage besides the
  rostered breaks) and an outbound campaign team
  (fixed 10:00-18:00); agents, shift leaders (one on duty whenever agents are) and supervisors (one per 14
  agents); handover 10 min; four weeks. The advertising schedule is the forecast driver.
* spa: therapists sized from guest arrivals (a share of guests book a 60-minute session; Erlang C with a
  15-minute wait target), capped by the rooms; front hall staff by ratio; male and female locker-room posts held
  only by attendants of that gender; opening hours that differ by date; area leaders; leader-pinned rest days.
* store: cashiers from customers at the tills (Erlang C, 80 % served within 2 minutes), capped by the tills,
  group leaders as floating cashiers, paired early/late shifts with a handover overlap, the till opening and
  closing duty as one more cashier at the start and end of the day; promotion days drive the forecast.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path

import yaml

START = dt.date(2026, 3, 2)  # the Monday after the embedded histories end
BUSINESSES = ("call_centre", "spa", "store")


def _staff(prefix: str, count: int, name: str, **fields) -> list[dict]:
    return [{"id": f"{prefix}{i + 1:02d}", "name": f"{name} {i + 1}", **fields} for i in range(count)]


def call_centre_plan() -> dict:
    full = {"allowed_templates": ["early", "day", "late"]}
    agents = _staff("A", 110, "Agent", skills=["inbound"], rules=full, hourly_cost=30.0)
    for i, agent in enumerate(agents):
        if i % 6 == 0:
            agent["skills"] = ["inbound", "outbound"]
        if i % 10 == 9:
            agent["rules"] = {"allowed_templates": ["part"], "max_minutes_per_week": 1500}
            agent["hourly_cost"] = 25.0
    agents[3]["days_off"] = [str(START + dt.timedelta(days=d)) for d in (9, 10, 11)]  # approved leave
    return {
        "site": {"name": "Hotline call centre", "business": "call_centre", "interval_min": 30},
        "start_date": str(START),
        "days": 28,
        "preset": "cn",
        "rules": {"handover_min": 10},
        "roles": {"leader_whenever_on_duty": True, "agents_per_supervisor": 14},
        "templates": [
            {"id": "early", "earliest_start": "07:30", "latest_start": "09:00", "length_min": 540},
            {"id": "day", "earliest_start": "09:30", "latest_start": "11:30", "length_min": 540},
            {"id": "late", "earliest_start": "12:00", "latest_start": "13:30", "length_min": 540},
            {"id": "part", "earliest_start": "09:00", "latest_start": "17:30", "length_min": 270},
        ],
        "employees": [
            *agents,
            *_staff("L", 12, "Shift leader", skills=["inbound"], roles=["shift_leader"], rules=full, hourly_cost=36.0),
            *_staff("S", 9, "Supervisor", roles=["supervisor"], rules=full, hourly_cost=42.0),
        ],
        # Non-phone time the documents name: a morning team meeting and a weekly training block, off the queue.
        "activities": [
            {"id": "meeting", "length_min": 30, "earliest_start": "07:30", "latest_end": "09:30",
             "skills": ["inbound"]},
            {"id": "training", "length_min": 60, "earliest_start": "14:00", "latest_end": "17:00",
             "weekdays": [2], "skills": ["inbound"]},
        ],
        "sources": {"calls": {"history": "history_call_centre.csv.gz", "events": "events_call_centre.csv"}},
        "demand": [
            {"skill": "inbound", "method": "erlang_a", "source": "calls", "patience_s": 60,
             "targets": {"service_level": 0.8, "answer_s": 20, "shrinkage": 0.2}},
            {"skill": "outbound", "method": "fixed", "required": 3, "hours": ["10:00", "18:00"]},
        ],
    }


def spa_plan() -> dict:
    opening = {}
    for d in range(28):
        date = START + dt.timedelta(days=d)
        close = "00:00" if date.weekday() >= 4 else "23:00"  # Friday to Sunday open an hour longer
        opening[str(date)] = ["10:00", close]
    # Two areas with their own leaders: the front hall (hall and locker attendants) and the therapy rooms. The
    # therapy leaders run the area and take no sessions, so they hold no room.
    hall_area, therapy = {"team": "front_hall"}, {"team": "therapy"}
    therapists = _staff("T", 20, "Therapist", skills=["therapist"], hourly_cost=40.0, **therapy)
    hall = _staff("H", 9, "Front hall attendant", skills=["front_hall"], hourly_cost=24.0, **hall_area)
    male = _staff("M", 4, "Locker attendant (men)", skills=["locker_male"], gender="M", hourly_cost=22.0, **hall_area)
    female = _staff(
        "F", 4, "Locker attendant (women)", skills=["locker_female"], gender="F", hourly_cost=22.0, **hall_area
    )
    leaders = [
        *_staff("AL", 4, "Front hall leader", skills=["front_hall"], roles=["shift_leader"], hourly_cost=32.0,
                **hall_area),
        *_staff("TL", 4, "Therapy leader", skills=["therapy_lead"], roles=["shift_leader"], hourly_cost=44.0,
                **therapy),
    ]
    for i, person in enumerate([*therapists, *hall]):
        if i % 5 == 0:  # rest days the area leader has fixed
            person["pinned_rest_days"] = [str(START + dt.timedelta(days=(i % 7) + 7 * w)) for w in range(4)]
    return {
        "site": {"name": "Riverside spa", "business": "spa", "interval_min": 30, "opening_hours": opening},
        "start_date": str(START),
        "days": 28,
        "preset": "cn",
        "rules": {"handover_min": 10},
        "roles": {"leader_whenever_on_duty": True, "leader_per_team": True, "agent_role": "agent"},
        "templates": [
            {"id": "day", "earliest_start": "09:30", "latest_start": "11:00", "length_min": 540},
            {"id": "mid", "earliest_start": "12:00", "latest_start": "14:00", "length_min": 540},
            {"id": "evening", "earliest_start": "14:30", "latest_start": "15:30", "length_min": 540},
        ],
        "employees": [*therapists, *hall, *male, *female, *leaders],
        "sources": {"guests": {"history": "history_spa.csv.gz", "events": "events_spa.csv"}},
        "demand": [
            {"skill": "therapist", "method": "erlang_c", "source": "guests", "share": 0.15, "aht_s": 3600,
             "targets": {"service_level": 0.8, "answer_s": 900}, "maximum": 10},
            {"skill": "front_hall", "method": "ratio", "source": "guests", "per_person": 25, "minimum": 2},
            {"skill": "locker_male", "method": "fixed", "required": 1},
            {"skill": "locker_female", "method": "fixed", "required": 1},
        ],
    }


def store_plan() -> dict:
    cashiers = _staff("C", 30, "Cashier", skills=["cashier"], hourly_cost=22.0)
    for i, cashier in enumerate(cashiers):  # paired opposite shifts: half early, half late
        cashier["rules"] = {"allowed_templates": ["early" if i % 2 == 0 else "late"]}
    leaders = _staff("G", 2, "Cashier group leader", skills=["cashier"], roles=["shift_leader"], hourly_cost=28.0)
    return {
        "site": {"name": "Clubhouse supermarket", "business": "store", "interval_min": 30},
        "start_date": str(START),
        "days": 28,
        "preset": "cn",
        "rules": {"handover_min": 10, "weekend_days": [5, 6]},
        "templates": [
            {"id": "early", "earliest_start": "07:30", "latest_start": "08:00", "length_min": 480},
            {"id": "late", "earliest_start": "13:00", "latest_start": "14:30", "length_min": 480},
        ],
        "employees": [*cashiers, *leaders],
        "sources": {"customers": {"history": "history_store.csv.gz", "events": "events_store.csv"}},
        "demand": [
            {"skill": "cashier", "method": "erlang_c", "source": "customers",
             "targets": {"service_level": 0.8, "answer_s": 120, "shrinkage": 0.1}, "maximum": 12},
            # Till opening (07:30-08:00) and closing (21:30-22:00): one more cashier on the floor.
            {"skill": "cashier", "method": "fixed", "required": 1, "hours": ["07:30", "08:00"]},
            {"skill": "cashier", "method": "fixed", "required": 1, "hours": ["21:30", "22:00"]},
        ],
    }


PLANS = {"call_centre": call_centre_plan, "spa": spa_plan, "store": store_plan}


def plan_path(business: str) -> Path:
    """Path of the embedded plan file of a business."""
    if business not in PLANS:
        raise ValueError(f"business must be one of {', '.join(PLANS)}, got {business!r}")
    return Path(str(resources.files("wfm") / "data" / f"plan_{business}.yaml"))


def write_embedded_plans() -> None:
    for business, make in PLANS.items():
        header = f"# wfm plan file ({business}), made by `python -m wfm.plan.samples`; schema: examples/README.md\n"
        text = yaml.safe_dump(make(), sort_keys=False, width=120, allow_unicode=True)
        plan_path(business).write_text(header + text)


if __name__ == "__main__":
    write_embedded_plans()
