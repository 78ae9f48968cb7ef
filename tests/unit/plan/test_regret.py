"""Every grid run of the bundled pilot-gpu-german data (and the realistic-PT mix) is a plan candidate of the
benchmark's plan space, with its exact LRs (cptlaw.plan.regret.match_runs)."""

import numpy as np

from benchmarks import plan_regret


def test_every_grid_run_is_a_plan_candidate_with_its_exact_lrs():
    from cptlaw.datasets import load
    from cptlaw.plan.features import plan_run
    from cptlaw.plan.regret import match_runs

    for dataset, size in [("pilot-gpu-german", "s"), ("pilot-gpu-german", "m"), ("pilot-gpu-german", "l"),
                          (plan_regret.MIX, "s"), (plan_regret.MIX, "m")]:
        runs = load(dataset)
        sp = plan_regret.space(size)
        names = [n for n in runs.names if n.startswith(f"{size}_german_")]
        for name, cand in match_runs(runs, sp, names).items():
            assert np.allclose(plan_run(sp, cand).lr, runs[name].lr, rtol=1e-12, atol=0)
            assert cand.replay == runs[name].replay_ratio
