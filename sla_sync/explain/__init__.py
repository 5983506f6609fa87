"""``sla-sync sla explain``: evaluate a JSON scenario under a definition file and show the result.

This is how ops tries a definition before rolling it out: the same engine composition the worker
uses (:func:`sla_sync.sla.evaluate.evaluate_agreement`) runs on hand-written leads, and every
cycle (start, deadline, first touch, business time, state) and the period attainment is printed.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sla_sync.definitions import ConfigError, load_config
from sla_sync.explain.render import render_json, render_text
from sla_sync.explain.scenario import Scenario, ScenarioError, load_scenario
from sla_sync.sla.evaluate import AgreementEvaluation, evaluate_agreement

__all__ = ["ExplainError", "evaluate_scenario", "explain"]


class ExplainError(Exception):
    """The definition file or the scenario is invalid, or the requested agreement is unknown."""


def evaluate_scenario(
    config_file: Path,
    scenario_file: Path,
    *,
    as_of: datetime | None = None,
    agreement: str | None = None,
) -> tuple[Scenario, list[AgreementEvaluation]]:
    """Load both files and evaluate each agreement (or only ``agreement``).

    ``as_of`` defaults to the scenario's ``as_of``.

    Raises:
        ExplainError: invalid configuration or scenario (every problem listed), no ``as_of``
            anywhere, or an unknown agreement id.
    """
    try:
        config = load_config(config_file)
    except ConfigError as exc:
        lines = "\n  ".join(str(problem) for problem in exc.problems)
        raise ExplainError(f"{config_file} is not valid:\n  {lines}") from None
    try:
        scenario = load_scenario(scenario_file)
    except ScenarioError as exc:
        lines = "\n  ".join(exc.problems)
        raise ExplainError(f"{scenario_file} is not valid:\n  {lines}") from None
    instant = as_of or scenario.as_of
    if instant is None:
        raise ExplainError(f"{scenario_file} has no as_of; pass --as-of 2026-11-20T18:00:00Z")
    policies = config.agreement_policies()
    if agreement is not None:
        policies = tuple(policy for policy in policies if policy.id == agreement)
        if not policies:
            known = ", ".join(policy.id for policy in config.agreement_policies())
            raise ExplainError(f"no agreement {agreement!r} in {config_file} (known: {known})")
    evaluations = [
        evaluate_agreement(
            policy,
            scenario.histories,
            owners=scenario.owners,
            as_of=instant,
            actuals=scenario.actuals,
        )
        for policy in policies
    ]
    return scenario, evaluations


def explain(
    config_file: Path,
    scenario_file: Path,
    *,
    as_of: datetime | None = None,
    agreement: str | None = None,
    as_json: bool = False,
) -> str:
    """Evaluate the scenario and return the report (text tables, or JSON with ``as_json``).

    Raises:
        ExplainError: see :func:`evaluate_scenario`.
    """
    scenario, evaluations = evaluate_scenario(
        config_file, scenario_file, as_of=as_of, agreement=agreement
    )
    if as_json:
        return render_json(scenario, evaluations)
    return render_text(scenario, evaluations)
