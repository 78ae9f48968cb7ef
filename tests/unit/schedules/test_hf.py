"""HF TrainingArguments -> a cptlaw schedule (cptlaw.schedules.hf): equal to transformers' own schedulers."""

import numpy as np
import pytest

from cptlaw.errors import SpecError
from cptlaw.schedules import to_spec
from cptlaw.schedules.hf import hf_schedule
from tests.helpers import needs

CASES = [
    {"lr_scheduler_type": "cosine", "learning_rate": 1e-3, "warmup_steps": 5, "max_steps": 40},
    {"lr_scheduler_type": "cosine", "learning_rate": 3e-4, "warmup_steps": 0.1, "max_steps": 200},  # v5 ratio
    {"lr_scheduler_type": "cosine", "learning_rate": 3e-4, "warmup_steps": 0, "warmup_ratio": 0.05,
     "max_steps": 200},  # transformers 4's ratio
    {"lr_scheduler_type": "linear", "learning_rate": 2e-4, "warmup_steps": 10, "max_steps": 100},
    {"lr_scheduler_type": "constant", "learning_rate": 2e-4, "max_steps": 100},
    {"lr_scheduler_type": "constant_with_warmup", "learning_rate": 2e-4, "warmup_steps": 7, "max_steps": 100},
    {"lr_scheduler_type": "cosine_with_min_lr", "learning_rate": 1e-3, "warmup_steps": 5, "max_steps": 60,
     "lr_scheduler_kwargs": {"min_lr_rate": 0.1}},
    {"lr_scheduler_type": "cosine_with_min_lr", "learning_rate": 1e-3, "warmup_steps": 5, "max_steps": 60,
     "lr_scheduler_kwargs": "{'min_lr': 5e-05}"},  # as MLflow logs it: text
    {"lr_scheduler_type": "warmup_stable_decay", "learning_rate": 1e-3, "warmup_steps": 10, "max_steps": 100,
     "lr_scheduler_kwargs": {"num_decay_steps": 20, "min_lr_ratio": 0.1, "decay_type": "1-sqrt"}},
    {"lr_scheduler_type": "warmup_stable_decay", "learning_rate": 1e-3, "warmup_steps": 10, "max_steps": 100,
     "lr_scheduler_kwargs": {"num_decay_steps": 30, "num_stable_steps": 50, "decay_type": "linear"}},
]


@needs("transformers", "torch", "accelerate")  # (TrainingArguments needs accelerate with torch)
@pytest.mark.parametrize("args", CASES, ids=[f"{c['lr_scheduler_type']}-{i}" for i, c in enumerate(CASES)])
def test_equal_to_transformers_own_scheduler(args):
    """The LR transformers' scheduler sets at each scheduler step, against the rebuilt spec at the same step."""
    import ast

    import torch
    from transformers import TrainingArguments, get_scheduler

    kwargs = args.get("lr_scheduler_kwargs") or {}
    kwargs = ast.literal_eval(kwargs) if isinstance(kwargs, str) else kwargs
    ta = TrainingArguments("unused", learning_rate=args["learning_rate"], max_steps=args["max_steps"],
                           warmup_steps=args.get("warmup_steps", 0), report_to=[], use_cpu=True)
    total = args["max_steps"]
    warmup = ta.get_warmup_steps(total) if "warmup_ratio" not in args else int(np.ceil(total * args["warmup_ratio"]))
    opt = torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=args["learning_rate"])
    sched = get_scheduler(args["lr_scheduler_type"], opt, num_warmup_steps=warmup, num_training_steps=total,
                          scheduler_specific_kwargs=kwargs)
    want = []
    for _ in range(total):
        want.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    got = hf_schedule(args).dense(total)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-18)


def test_what_it_cannot_build_asks_for_a_spec():
    base = {"learning_rate": 1e-3, "max_steps": 100}
    for args, message in (({**base, "lr_scheduler_type": "inverse_sqrt"}, "give the schedule as a spec"),
                          ({**base, "lr_scheduler_type": "cosine", "max_steps": -1}, "max_steps is not set"),
                          ({**base, "lr_scheduler_type": "cosine", "lr_scheduler_kwargs": {"num_cycles": 2}},
                           "num_cycles"),
                          ({**base, "lr_scheduler_type": "cosine_with_min_lr"}, "min_lr"),
                          ({**base, "lr_scheduler_type": "cosine", "learning_rate": "abc"}, "not a number")):
        with pytest.raises(SpecError, match=message):
            hf_schedule(args)
    # the spec it gives is a plain cptlaw spec
    spec = to_spec(hf_schedule({**base, "lr_scheduler_type": "cosine", "warmup_steps": 5}))
    assert spec == {"kind": "warmup", "steps": 5, "init": 0.0, "endpoint": False,
                    "schedule": {"kind": "cosine", "peak": 1e-3, "steps": 95, "floor": 0.0}}
