"""A neighbourhood's sub-model, cut out of a CP-SAT model: only the constraints that touch what is free.

A neighbourhood step on a long horizon (Curtois 24: 150 people x 364 days, 1.1M variables) frees a few percent
of the assignments. Narrowing the other variables' domains in the whole model leaves CP-SAT to load and presolve
all of it each step, which costs seconds before the search starts. Here the fixed values are substituted into
the constraints that mention a free variable, the constraints that do not are left out (the incumbent satisfies
them), and the sub-model holds only the free variables. CP-SAT has no API for this (its presolve does it, at
the cost above), hence the hand-written cut.

Supported constraint kinds are those the roster model writes (linear, clauses, implications, at-most-one,
exactly-one); ``SubModelIndex.supports`` says whether a model has only these.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

import numpy as np
from ortools.sat import cp_model_pb2
from ortools.sat.python import cp_model

_KINDS = ("linear", "bool_or", "bool_and", "at_most_one", "exactly_one")
_BIG = 1 << 62  # domain ends beyond this are the unbounded sentinels: left as they are


@dataclass
class SubModel:
    """A sub-model and, per its variable, the index of that variable in the whole model."""

    model: cp_model.CpModel
    variables: list[int]


def _gather(offsets: np.ndarray, data: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The slices ``data[offsets[k]:offsets[k + 1]]`` of each key, concatenated, and their lengths."""
    starts = offsets[keys]
    lengths = offsets[keys + 1] - starts
    shift = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    return data[shift + np.arange(int(lengths.sum()))], lengths


class SubModelIndex:
    """The constraints of a model by variable, read once, to cut sub-models from many times over.

    ``primary``: the decision variables a neighbourhood frees or fixes. Any other (auxiliary) variable is free
    when a constraint that holds a free variable mentions it, so counts and slacks follow the freed decisions.
    """

    def __init__(self, model: cp_model.CpModel, primary: set[int]):
        # Read through the protobuf (upb) message: element access on the solver's own proto wrapper is ~7x
        # slower (Curtois 21: 7.5 s against 1 s to index 155k constraints).
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.pb")
            model.export_to_file(path)
            with open(path, "rb") as handle:
                self.proto = cp_model_pb2.CpModelProto.FromString(handle.read())
        self.supports = True
        kinds: list[int] = []
        enforced: list[int] = []
        refs: list[int] = []
        coeffs: list[int] = []
        counts: list[int] = []
        for ct in self.proto.constraints:
            kind = ct.WhichOneof("constraint")
            if kind not in _KINDS or (kind == "linear" and min(ct.linear.vars, default=0) < 0):
                self.supports = False  # not written by the roster model: the caller narrows domains instead
                return
            body = ct.linear.vars if kind == "linear" else getattr(ct, kind).literals
            kinds.append(_KINDS.index(kind))
            enforced.append(len(ct.enforcement_literal))
            counts.append(len(ct.enforcement_literal) + len(body))
            refs.extend(ct.enforcement_literal)
            refs.extend(body)
            coeffs.extend([0] * len(ct.enforcement_literal))
            coeffs.extend(ct.linear.coeffs if kind == "linear" else [0] * len(body))
        n_variables = len(self.proto.variables)
        self._kinds = kinds
        self._enforced = np.asarray(enforced, dtype=np.int64)
        # Each constraint's references (enforcement literals, then its body) and coefficients, flat.
        self._refs = np.asarray(refs, dtype=np.int64)
        self._coeffs = np.asarray(coeffs, dtype=np.int64)
        self._ref_offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        # The constraints of each variable, flat (a Python list per variable: ~1 GB on Curtois 24).
        owners = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        variables = np.abs(self._refs + (self._refs < 0))
        order = np.argsort(variables, kind="stable")
        self._var_constraints = owners[order]
        self._var_offsets = np.concatenate(([0], np.cumsum(np.bincount(variables, minlength=n_variables))))
        self._primary = np.zeros(n_variables, dtype=bool)
        self._primary[sorted(primary)] = True
        self._objective_vars = np.asarray(self.proto.objective.vars, dtype=np.int64)
        self._objective_coeffs = np.asarray(self.proto.objective.coeffs, dtype=np.int64)

    def objective_value(self, solution: list[int]) -> float:
        values = np.asarray(solution, dtype=np.int64)
        return float(self._objective_coeffs @ values[self._objective_vars]) + self.proto.objective.offset

    def cut(self, incumbent: list[int], free_primary: set[int], keep: bool = False) -> SubModel:
        """The sub-model of ``free_primary`` (and the auxiliaries that follow them), the rest at ``incumbent``;
        with ``keep``, ``free_primary`` stay at ``incumbent`` too and only the auxiliaries that follow them are
        free (what a change of ``free_primary`` made in the incumbent implies)."""
        n_variables = len(self._primary)
        free = np.zeros(n_variables, dtype=bool)
        touched = np.zeros(len(self._kinds), dtype=bool)
        frontier = np.fromiter(free_primary, dtype=np.int64, count=len(free_primary))
        free[frontier] = True
        while frontier.size:
            constraints = np.unique(_gather(self._var_offsets, self._var_constraints, frontier)[0])
            constraints = constraints[~touched[constraints]]
            touched[constraints] = True
            refs = _gather(self._ref_offsets, self._refs, constraints)[0]
            variables = np.abs(refs + (refs < 0))
            frontier = np.unique(variables[~self._primary[variables] & ~free[variables]])
            free[frontier] = True
        if keep:
            free[np.fromiter(free_primary, dtype=np.int64, count=len(free_primary))] = False
        variables = np.flatnonzero(free)
        index = np.full(n_variables, -1, dtype=np.int64)
        index[variables] = np.arange(len(variables))
        values = np.asarray(incumbent, dtype=np.int64)

        model = cp_model.CpModel()
        proto = model.proto
        for v in variables.tolist():
            proto.variables.add().domain.extend(self.proto.variables[v].domain)
        constraints = np.flatnonzero(touched)
        if constraints.size:
            self._add_constraints(proto, constraints, index, values)
        in_cut = index[self._objective_vars] >= 0
        proto.objective.vars.extend(index[self._objective_vars[in_cut]].tolist())
        proto.objective.coeffs.extend(self._objective_coeffs[in_cut].tolist())
        proto.solution_hint.vars.extend(range(len(variables)))
        proto.solution_hint.values.extend(values[variables].tolist())
        return SubModel(model, variables.tolist())

    def _add_constraints(self, proto, constraints: np.ndarray, index: np.ndarray, values: np.ndarray) -> None:
        """Add the touched ``constraints`` to the sub-model ``proto``, the fixed variables' values substituted."""
        # Every reference of the constraints at once: free or fixed, its fixed value, its sub-model ref.
        refs, lengths = _gather(self._ref_offsets, self._refs, constraints)
        coeffs = _gather(self._ref_offsets, self._coeffs, constraints)[0]
        segment = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        in_enforcement = np.arange(len(refs)) - np.repeat(segment, lengths) < np.repeat(
            self._enforced[constraints], lengths
        )
        variable = np.abs(refs + (refs < 0))
        position = index[variable]
        is_free = position >= 0
        value = values[variable]
        literal = np.where(refs >= 0, value, 1 - value)
        fixed_body = ~is_free & ~in_enforcement
        constant = np.add.reduceat(np.where(fixed_body, coeffs * value, 0), segment)
        true_count = np.add.reduceat(fixed_body & (literal == 1), segment)
        false_count = np.add.reduceat(fixed_body & (literal == 0), segment)
        off_guard = np.add.reduceat(~is_free & in_enforcement & (literal == 0), segment)
        sub_refs = np.where(refs >= 0, position, -position - 1)[is_free].tolist()
        sub_coeffs = coeffs[is_free].tolist()
        free_guards = np.add.reduceat(is_free & in_enforcement, segment).tolist()
        free_ends = np.cumsum(np.add.reduceat(is_free, segment)).tolist()
        begin = 0
        for i, c in enumerate(constraints.tolist()):
            end = free_ends[i]
            if off_guard[i]:
                begin = end
                continue  # not enforced: holds
            middle = begin + free_guards[i]  # enforcement literals come first
            guard, body, body_coeffs = sub_refs[begin:middle], sub_refs[middle:end], sub_coeffs[middle:end]
            begin = end
            kind = _KINDS[self._kinds[c]]
            if kind == "linear":
                domain = list(self.proto.constraints[c].linear.domain)
                added = self._linear(proto, body, body_coeffs, domain, int(constant[i]))
            else:
                added = self._boolean(proto, kind, body, int(true_count[i]), int(false_count[i]))
            if added is False:  # the fixed part breaks it: the guard must be off
                proto.constraints.add().bool_or.literals.extend(-g - 1 for g in guard)
            elif added is not True:
                added.enforcement_literal.extend(guard)

    @staticmethod
    def _linear(proto, body: list[int], coeffs: list[int], domain: list[int], constant: int):
        """Add a linear constraint's free terms with the fixed part moved into its bounds; True if it holds
        whatever the free variables, False if it cannot hold, else the added constraint."""
        if not body:
            return any(lo <= constant <= hi for lo, hi in zip(domain[::2], domain[1::2], strict=True))
        ct = proto.constraints.add()
        ct.linear.vars.extend(body)
        ct.linear.coeffs.extend(coeffs)
        ct.linear.domain.extend(d if abs(d) >= _BIG else d - constant for d in domain)
        return ct

    @staticmethod
    def _boolean(proto, kind: str, free_refs: list[int], true: int, false: int):
        """As ``_linear``, for clauses, implications, at-most-one and exactly-one, given the counts of fixed
        literals that are true and false."""
        if kind == "bool_or":
            holds, literals = (True if true else None), free_refs
        elif kind == "bool_and":
            holds, literals = (False if false else None), free_refs
        elif true > 1 or (kind == "exactly_one" and not true and not free_refs):
            return False
        else:
            holds = None
            if true:  # the one is taken: the free literals are all off
                kind, literals = "bool_and", [-r - 1 for r in free_refs]
            else:
                literals = free_refs
        if holds is not None:
            return holds
        if not literals:  # no free literal left: an empty clause fails, an empty conjunction holds
            return kind != "bool_or"
        ct = proto.constraints.add()
        getattr(ct, kind).literals.extend(literals)
        return ct
