"""Scenario files (JSON or YAML) in, roster files out. Shared by the CLI and the HTTP API."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

import pandas as pd
import yaml
from pydantic import ValidationError

from wfm.roster.domain import Scenario
from wfm.roster.solve import RosterResult
from wfm.roster.validate import Violation


class ScenarioError(ValueError):
    """A scenario that cannot be read or validated; the message lists each field and problem."""


def field_location(loc: tuple) -> str:
    """A pydantic error location as the dotted field path planners see in messages."""
    return ".".join(str(part) for part in loc) or "scenario"


def scenario_from_dict(data: dict, base_dir: Path | None = None) -> Scenario:
    """Validate a scenario given as a dict. ``requirements_csv`` (relative to ``base_dir``) may replace the
    inline ``requirements`` list with a file ``interval_start,skill,required[,maximum]``."""
    if not isinstance(data, dict):
        raise ScenarioError("scenario: the top level must be a mapping of fields")
    data = dict(data)
    csv_name = data.pop("requirements_csv", None)
    if csv_name is not None:
        path = Path(csv_name) if base_dir is None else base_dir / csv_name
        try:
            table = pd.read_csv(path)
        except (OSError, pd.errors.ParserError) as exc:
            raise ScenarioError(f"requirements_csv: cannot read {path} ({exc})") from None
        missing = {"interval_start", "skill", "required"} - set(table.columns)
        if missing:
            raise ScenarioError(f"requirements_csv: {path} lacks column(s) {', '.join(sorted(missing))}")
        records = table.to_dict("records")
        for record in records:
            if "maximum" in record and (record["maximum"] is None or pd.isna(record["maximum"])):
                record.pop("maximum")
        data["requirements"] = [*data.get("requirements", []), *records]
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        lines = [f"{field_location(err['loc'])}: {err['msg']}" for err in exc.errors()[:20]]
        more = f"\n... and {exc.error_count() - 20} more" if exc.error_count() > 20 else ""
        raise ScenarioError("invalid scenario:\n" + "\n".join(lines) + more) from None


def read_scenario_file(path: Path) -> object:
    """The parsed content of a scenario or plan file (.json, .yaml or .yml), or a ScenarioError saying why not."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ScenarioError(f"scenario: cannot read {path} ({exc.strerror})") from None
    try:
        return json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ScenarioError(f"scenario: {path} is not valid {path.suffix.lstrip('.').upper()} ({exc})") from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file (.json, .yaml or .yml)."""
    path = Path(path)
    return scenario_from_dict(read_scenario_file(path), path.parent)


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def summary_of(result: RosterResult, violations: list[Violation]) -> dict:
    """The summary.json content: status, objective breakdown, gap, conflicts, violations, unmet demand."""
    unmet = result.unmet_demand
    return {
        "status": result.status,
        "objective": _finite(result.objective),
        "bound": _finite(result.bound),
        "gap": _finite(result.gap),
        "objective_breakdown": result.breakdown,
        "solver": {k: _finite(v) for k, v in result.stats.items()},
        "shifts": len(result.roster),
        "conflicts": [c.__dict__ for c in result.conflicts],
        "violations": [v.__dict__ for v in violations],
        "unmet_demand": {
            "intervals": len(unmet),
            "person_intervals": float(unmet["missing"].sum()) if len(unmet) else 0.0,
            "first": unmet.head(50).to_dict("records") if len(unmet) else [],
        },
    }


def write_roster_outputs(result: RosterResult, violations: list[Violation], out_dir: str | Path) -> list[Path]:
    """Write roster.csv, coverage.csv and summary.json into ``out_dir``, each atomically."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "roster.csv": result.roster.to_csv(index=False),
        "coverage.csv": result.coverage.to_csv(index=False),
        "summary.json": json.dumps(summary_of(result, violations), indent=2, default=str),
    }
    paths = []
    for name, text in files.items():
        _write_atomically(out / name, text)
        paths.append(out / name)
    return paths


def read_roster_csv(path: str | Path) -> pd.DataFrame:
    """A roster.csv as strings (dates and times stay ISO text for the validator)."""
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ScenarioError(f"roster: cannot read {path} ({exc})") from None


def dump_scenario(scenario: Scenario, path: str | Path, requirements_csv: str | None = None) -> None:
    """Write a scenario as JSON or YAML (by suffix); with ``requirements_csv`` the interval requirement goes to
    that CSV file beside it and the scenario refers to it."""
    path = Path(path)
    data = scenario.model_dump(mode="json", exclude_defaults=True)
    data["start_date"], data["days"] = scenario.start_date.isoformat(), scenario.days
    if requirements_csv is not None:
        table = pd.DataFrame([r.model_dump(mode="json", exclude_none=True) for r in scenario.requirements])
        _write_atomically(path.parent / requirements_csv, table.to_csv(index=False))
        data.pop("requirements", None)
        data["requirements_csv"] = requirements_csv
    if path.suffix.lower() == ".json":
        text = json.dumps(data, indent=1)
    else:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    _write_atomically(path, text)
