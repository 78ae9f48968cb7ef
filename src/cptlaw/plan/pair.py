"""The pair of fitted laws a plan needs, checked: CPT-law fits of the general and the domain loss with the PT
history known, and, for an out-of-domain objective (Eq. 6), an OOD fit made from those same two fits."""

from __future__ import annotations

import dataclasses

from ..errors import CptlawError
from .space import Space


def check_planning_law(law, source: str) -> None:
    """Refuse a law the planner cannot search with; ``source`` names it in the message (e.g. a file)."""
    if law.name != "cpt":
        raise CptlawError(f"{source}: the planner needs fits of the CPT law (cptlaw fit --law cpt), not of the "
                          f"{law.name} law")
    if law.pt != "known":
        raise CptlawError(f"{source}: a fit with an unknown PT (--pt unknown); the planner searches PT checkpoints "
                          f"and schedules, so it needs fits with the PT history known")


def pair_warnings(general, domain, sources: dict[str, str]) -> list[str]:
    """What looks wrong in a general/domain pair of fits without being impossible: the same fit twice (the plan
    would trade a loss against itself), or the two swapped.  The role of a loss is the sign of its B, the
    paper's reading (Wang, Tissue et al. 2025, §3.2): the general loss rises when CPT starts (B > 0), a domain
    loss falls (B < 0)."""
    g, d = general.result_, domain.result_
    if g.target == d.target and g.params == d.params:
        return [f"{sources['general']} and {sources['domain']} are the same fit (of {g.target}): the plan trades "
                "that loss against itself"]
    b_general, b_domain = general.params_.get("B", 0.0), domain.params_.get("B", 0.0)
    if b_general < 0 < b_domain:
        return [f"{sources['general']} ({g.target}) falls when CPT starts (B < 0), as a domain loss does, and "
                f"{sources['domain']} ({d.target}) rises (B > 0), as the general loss does: are they swapped?"]
    return []


def ood_space(space: Space, ood, laws: dict, source: str, sources: dict[str, str]) -> Space:
    """The space with the OOD fit's Eq. 6 weights as its objective, once ``ood`` is checked to be made from the
    ``laws`` {"general": law, "domain": law} (named by ``sources``)."""
    if ood.name != "ood":
        raise CptlawError(f"{source}: a fit of the {ood.name} law, not an OOD fit (cptlaw fit --law ood)")
    for label in ("general", "domain"):
        comp, fit = getattr(ood, label), laws[label].result_
        if comp["params"] != fit.params or comp["target"] != fit.target:
            raise CptlawError(f"{source}: its {label} component is not the fit {sources[label]} ({comp['target']} vs "
                              f"{fit.target}); fit the OOD coefficients from the same two fits")
    return dataclasses.replace(space, ood={"general": ood.params_["l1"], "domain": ood.params_["l2"]})
