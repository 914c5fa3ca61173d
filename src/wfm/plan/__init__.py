"""The whole pipeline: forecast -> required staff -> roster -> evaluation -> report and exports."""

from wfm.plan.demand import DemandSpec, Targets, requirements_of, staffing_requirement
from wfm.plan.export import write_plan_outputs
from wfm.plan.pipeline import Plan, PlanResult, evaluate_roster, load_plan, plan_from_dict, run_plan
from wfm.plan.samples import plan_path

__all__ = [
    "DemandSpec",
    "Plan",
    "PlanResult",
    "Targets",
    "evaluate_roster",
    "load_plan",
    "plan_from_dict",
    "plan_path",
    "requirements_of",
    "run_plan",
    "staffing_requirement",
    "write_plan_outputs",
]
