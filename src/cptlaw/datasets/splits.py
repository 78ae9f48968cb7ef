"""Every fit split of the bundled datasets, in one place: which runs a law is fitted on and which it predicts.

The demo, the benchmarks (``docs/*.md``) and the tests share these, so that a number in one of them is about the
same runs as the same number in another.  Run lists keep their order: the fit's multi-start and the printed tables
follow it.  Nothing here reads data; ``Split.present`` narrows a split to the runs a dataset holds.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Split:
    """The runs a law is fitted on (``fit``) and the runs it predicts (``held_out``), in order."""

    fit: tuple[str, ...]
    held_out: tuple[str, ...]

    def present(self, runs: Container[str]) -> Split:
        """The split with only the held-out runs that ``runs`` holds (not every size trained every schedule)."""
        return Split(self.fit, tuple(n for n in self.held_out if n in runs))


# The MPL paper's split (Table 6): 3 training schedules, 6 test schedules.
MPL_SPLIT = Split(fit=("constant_24000", "cosine_24000", "wsdcon_9"),
                  held_out=("constant_72000", "cosine_72000", "wsd_20000_24000", "wsdld_20000_24000", "wsdcon_3",
                            "wsdcon_18"))

_PILOT = Split(fit=("{m}_pt_const", "{m}_pt_wsd", "{m}_{d}_const800_constant_r25", "{m}_{d}_const800_cosine_r25",
                    "{m}_{d}_const400_cosine_r25"),
               held_out=("{m}_{d}_const800_wsd_r25", "{m}_{d}_const800_rewarm_cosine_r25",
                         "{m}_{d}_const1200_cosine_r25", "{m}_{d}_wsd1200_rewarm_cosine_r25"))
# the pilot-gpu sets: the fit set of docs/regret.md (at most a third of the replay-0.25 grid), the rest held out
_GPU = Split(fit=("{m}_pt_const", "{m}_pt_wsd", "{m}_{d}_const600_constant_r25", "{m}_{d}_const600_cosine_r25",
                  "{m}_{d}_const300_cosine_r25"),
             held_out=("{m}_{d}_const600_wsd_r25", "{m}_{d}_const600_rewarm_cosine_r25",
                       "{m}_{d}_const300_rewarm_cosine_r25", "{m}_{d}_const1200_cosine_r25",
                       "{m}_{d}_const1200_rewarm_cosine_r25", "{m}_{d}_wsd1200_rewarm_low_r25"))


def _format(template: Split, model: str, domain: str) -> Split:
    return Split(tuple(n.format(m=model, d=domain) for n in template.fit),
                 tuple(n.format(m=model, d=domain) for n in template.held_out))


def pilot_split(model: str, domain: str) -> Split:
    """pilot-v1, one model size and CPT domain: the two PT runs and three replay-0.25 CPT runs (constant and
    cosine from update 800, cosine from 400) fitted; four other CPT schedules held out."""
    return _format(_PILOT, model, domain)


def gpu_german_split(model: str, domain: str = "german") -> Split:
    """pilot-gpu-german (and -mix), one model size: the two PT runs and three replay-0.25 CPT runs (constant and
    cosine from update 600, cosine from 300) fitted; six other replay-0.25 CPT runs held out."""
    return _format(_GPU, model, domain)


_DOMAINS = Split(fit=("{m}_pt_const", "{m}_{d}_const600_constant_r25", "{m}_{d}_const600_cosine_r25"),
                 held_out=("{m}_{d}_const600_cosine_r10", "{m}_{d}_const600_cosine_r50", "{m}_{d}_const600_cosine_r75"))


def domains_split(model: str, domain: str) -> Split:
    """pilot-gpu-domains, one model size and CPT domain: the PT run and the replay-0.25 constant and cosine CPT
    runs fitted; the cosine CPT runs at replay 0.1, 0.5 and 0.75 held out (a replay ratio the fit did not see)."""
    return _format(_DOMAINS, model, domain)


def gpu_german_rest_split(model: str, names: Iterable[str]) -> Split:
    """``gpu_german_split``'s fit runs, and every other replay-0.25 German CPT run of the size among ``names`` (in
    their order) held out."""
    fit = gpu_german_split(model).fit
    return Split(fit, tuple(n for n in names if n.startswith(f"{model}_german_") and n.endswith("_r25")
                            and n not in fit))


# docs/regret.md's Eq. 8 (replay) fits: replay 0.1 / 0.25 / 0.5 among the CPT runs; l, which has fewer runs,
# fits fewer
_REGRET_ALL = ("const600_constant_r25", "const600_cosine_r10", "const600_cosine_r50", "const300_cosine_r25")
_REGRET_L = ("const600_constant_r25", "const300_cosine_r25")


def regret_fit(model: str, grid: str) -> tuple[str, ...]:
    """The runs docs/regret.md fits on for one model size and grid (``"r25"``: the replay-0.25 runs, fitted as
    ``gpu_german_split``; ``"all"``: every replay ratio): at most a third of the grid's CPT runs, plus the two PT
    runs (the rest of the grid is held out)."""
    if model != "l" and grid == "r25":
        return gpu_german_split(model).fit
    cpt = _REGRET_L if model == "l" else _REGRET_ALL
    return (f"{model}_pt_const", f"{model}_pt_wsd") + tuple(f"{model}_german_{n}" for n in cpt)
