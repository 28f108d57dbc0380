"""Closed-loop policy evaluation in simulation (`vla eval`)."""

from vla.eval.runner import check_eval_args, evaluate, stack_observations
from vla.eval.scripted import ScriptedPolicy
from vla.eval.stats import wilson_interval

__all__ = ["ScriptedPolicy", "check_eval_args", "evaluate", "stack_observations", "wilson_interval"]
