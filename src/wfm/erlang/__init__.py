"""Queueing engine: demand per interval becomes required staff (Erlang B, Erlang C, Erlang A)."""

from wfm.erlang.queueing import QueueFigures, erlang_b, lines_for_blocking, queue_figures
from wfm.erlang.staffing import ServiceTargets, StaffingInputError, required_agents

__all__ = [
    "QueueFigures",
    "ServiceTargets",
    "StaffingInputError",
    "erlang_b",
    "lines_for_blocking",
    "queue_figures",
    "required_agents",
]
