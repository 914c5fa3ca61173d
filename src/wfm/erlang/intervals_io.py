"""Reading and writing interval staffing files (``interval_start,volume,aht_s[,patience_s]``)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from wfm.erlang.staffing import StaffingInputError

STAFF_COLUMNS = [
    "interval_start",
    "volume",
    "aht_s",
    "agents",
    "scheduled",
    "service_level",
    "asa_s",
    "p_abandon",
    "occupancy",
]


def read_intervals_csv(path: str | Path) -> pd.DataFrame:
    """Read an interval file, naming the row (1-based, header = row 1) and column of any bad value."""
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise StaffingInputError("intervals", f"file not found: {path}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise StaffingInputError("intervals", f"cannot read {path} as CSV ({exc})") from None
    raw.columns = [c.strip() for c in raw.columns]
    for column in ("interval_start", "volume", "aht_s"):
        if column not in raw.columns:
            raise StaffingInputError(column, f"column is missing from {path} (columns: {', '.join(raw.columns)})")
    frame = pd.DataFrame(index=raw.index)
    starts = pd.to_datetime(raw["interval_start"].str.strip(), errors="coerce", format="ISO8601")
    if starts.isna().any():
        row = int(starts.isna().to_numpy().argmax())
        raise StaffingInputError(
            "interval_start",
            f"row {row + 2}: cannot parse {raw['interval_start'].iloc[row]!r} as a date-time",
        )
    frame["interval_start"] = starts
    numeric = ["volume", "aht_s"] + (["patience_s"] if "patience_s" in raw.columns else [])
    for column in numeric:
        values = pd.to_numeric(raw[column].str.strip(), errors="coerce")
        if values.isna().any():
            row = int(values.isna().to_numpy().argmax())
            raise StaffingInputError(column, f"row {row + 2}: {raw[column].iloc[row]!r} is not a number")
        frame[column] = values.astype(float)
    duplicated = frame["interval_start"].duplicated()
    if duplicated.any():
        row = int(duplicated.to_numpy().argmax())
        raise StaffingInputError("interval_start", f"row {row + 2}: interval {starts.iloc[row]} appears twice")
    return frame


def write_csv_atomically(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a CSV via a temporary file and a rename, so a failure never leaves half a file behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="") as handle:
            frame.to_csv(handle, index=False, date_format="%Y-%m-%dT%H:%M:%S")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
