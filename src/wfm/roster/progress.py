"""Following a CP-SAT search: rosters as they are found, and stopping a search that no longer improves."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ortools.sat.python import cp_model


@dataclass(frozen=True)
class Progress:
    """A roster found: its objective, the bound proven so far, and seconds since the solve began."""

    objective: float
    bound: float
    elapsed_s: float


class ProgressCallback(cp_model.CpSolverSolutionCallback):
    """Counts the rosters found and when, and passes each on to ``report``."""

    def __init__(self, report: Callable[[Progress], None] | None) -> None:
        super().__init__()
        self.report = report
        self.start = time.perf_counter()
        self.first_solution_s: float | None = None
        self.last_solution_at = self.start
        self.solutions = 0

    def on_solution_callback(self) -> None:
        self.external(self.ObjectiveValue(), self.BestObjectiveBound())

    def external(self, objective: float, bound: float) -> None:
        """Record a roster found by this solve or outside it (greedy start, neighbourhood search)."""
        self.last_solution_at = time.perf_counter()
        elapsed = self.last_solution_at - self.start
        self.solutions += 1
        if self.first_solution_s is None:
            self.first_solution_s = elapsed
        if self.report is not None:
            self.report(Progress(objective, bound, elapsed))


@contextlib.contextmanager
def stop_on_stall(
    solver: cp_model.CpSolver, callback: ProgressCallback, earliest: float, stall_s: float, poll_s: float = 0.25
):
    """Stop the solve once past ``earliest`` with no new roster for ``stall_s`` (a watchdog thread, looking
    every ``poll_s``: CP-SAT calls back only on solutions, so a stalled search has to be stopped from outside)."""
    done = threading.Event()

    def watch() -> None:
        while not done.wait(poll_s):
            now = time.perf_counter()
            if callback.solutions and now >= earliest and now - callback.last_solution_at >= stall_s:
                solver.stop_search()
                return

    watchdog = threading.Thread(target=watch, daemon=True)
    watchdog.start()
    try:
        yield
    finally:
        done.set()
        watchdog.join()
