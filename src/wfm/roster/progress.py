"""Following a CP-SAT search: rosters as they are found, and stopping a search that no longer improves."""

from __future__ import annotations

import contextlib
import math
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
    """Counts the rosters found and when, keeps the best objective and bound, and passes each roster on to
    ``report``. A search that finds a roster at ``target`` (a bound proven outside it) stops there."""

    def __init__(self, report: Callable[[Progress], None] | None) -> None:
        super().__init__()
        self.report = report
        self.start = time.perf_counter()
        self.first_solution_s: float | None = None
        self.last_solution_at = self.start
        self.solutions = 0
        self.objective = math.inf
        self.bound = -math.inf
        self.target = -math.inf

    def on_solution_callback(self) -> None:
        self.external(self.ObjectiveValue(), self.BestObjectiveBound())
        if self.objective <= self.target:
            self.stop_search()

    def external(self, objective: float, bound: float) -> None:
        """Record a roster found by this solve or outside it (greedy start, neighbourhood search)."""
        self.last_solution_at = time.perf_counter()
        elapsed = self.last_solution_at - self.start
        self.solutions += 1
        self.objective = min(self.objective, objective)
        self.bound = max(self.bound, bound)
        if self.first_solution_s is None:
            self.first_solution_s = elapsed
        if self.report is not None:
            self.report(Progress(objective, bound, elapsed))

    def bound_improved(self, bound: float) -> None:
        """CP-SAT's ``best_bound_callback``: the search proved a better bound."""
        self.bound = max(self.bound, bound)


@contextlib.contextmanager
def stop_on_stall(
    solver: cp_model.CpSolver,
    callback: ProgressCallback,
    earliest: float,
    stall_s: float,
    poll_s: float = 0.25,
    min_gap: float = 0.0,
):
    """Stop the solve once past ``earliest`` with no new roster for ``stall_s`` (a watchdog thread, looking
    every ``poll_s``: CP-SAT calls back only on solutions, so a stalled search has to be stopped from outside).
    A search whose best roster is within ``min_gap`` (a share of its objective) of the proven bound is left to
    run: what is left to gain is that small, and only this search can prove the roster optimal."""
    done = threading.Event()
    if min_gap > 0:  # only a gap needs the bound between rosters; a line's many bounds need no trip into Python
        solver.best_bound_callback = callback.bound_improved

    def watch() -> None:
        while not done.wait(poll_s):
            now = time.perf_counter()
            stalled = callback.solutions and now >= earliest and now - callback.last_solution_at >= stall_s
            if stalled and callback.objective - callback.bound > min_gap * max(1.0, abs(callback.objective)):
                solver.stop_search()
                return

    watchdog = threading.Thread(target=watch, daemon=True)
    watchdog.start()
    try:
        yield
    finally:
        done.set()
        watchdog.join()
