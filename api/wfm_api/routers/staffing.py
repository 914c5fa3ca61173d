"""Staffing figures, synchronous: Erlang C or A per interval for given volumes and handle times."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from fastapi import APIRouter, HTTPException

from wfm.erlang import StaffingInputError, required_agents
from wfm_api.deps import CallerDep
from wfm_api.schemas import StaffingOut, StaffingRequest, StaffingRow

router = APIRouter(tags=["staffing"])


def _number(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


@router.post("/staffing", response_model=StaffingOut, summary="Required agents per interval (Erlang C / A)")
def staffing(request: StaffingRequest, _caller: CallerDep) -> StaffingOut:
    frame = pd.DataFrame([i.model_dump() for i in request.intervals])
    if request.patience_s is not None:
        frame["patience_s"] = request.patience_s
    try:
        result = required_agents(frame, interval_min=request.interval_min, targets=request.targets.service_targets())
    except StaffingInputError as exc:
        raise HTTPException(422, f"{exc.field}: {exc.problem}") from None
    rows = [
        StaffingRow(
            interval_start=start,
            volume=float(r.volume),
            aht_s=float(r.aht_s),
            agents=int(r.agents),
            scheduled=int(r.scheduled),
            service_level=_number(r.service_level),
            asa_s=_number(r.asa_s),
            p_abandon=_number(r.p_abandon),
            occupancy=_number(r.occupancy),
        )
        for start, r in zip(frame["interval_start"].replace({np.nan: None}), result.itertuples(), strict=True)
    ]
    return StaffingOut(method="erlang_a" if request.patience_s is not None else "erlang_c", intervals=rows)
