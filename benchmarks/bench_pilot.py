"""Pilot trainer throughput vs a same-size transformers LlamaForCausalLM, measured side by side.

Full training steps (forward, backward, clip, AdamW) on random tokens, fp32, batch 16 x seq 128 (1.3M) and
16 x 256 (~5M); the two implementations alternate in rounds so machine load hits both alike.
Target (issue 3): ratio ours/transformers >= 1.0.  Run: python -m benchmarks bench_pilot [--compile]  (needs cptlaw[pilot,bench])

``--device cuda`` (issue 9): the trainer's GPU settings for both models (bf16 autocast, fused AdamW) at the sizes of
pilot-gpu-german, batch 40 x 256: s (1.6M non-embedding parameters) and l (21M); each timed block ends with a
device synchronisation, so the times are the GPU's, not the launch queue's.
"""

import json
import time

import torch

from cptlaw.pilot.model import LM, ModelConfig

from .harness import describe, parser

CONFIGS = {"1.3M": dict(vocab_size=4096, d_model=128, n_layers=4, n_heads=4, d_ff=352, seq_len=128, batch=16),
           "5.8M": dict(vocab_size=4096, d_model=256, n_layers=6, n_heads=4, d_ff=688, seq_len=256, batch=16)}
CUDA_CONFIGS = {"s 2.1M": dict(vocab_size=4096, d_model=128, n_layers=8, n_heads=4, d_ff=352, seq_len=256, batch=40),
                "l 22.8M": dict(vocab_size=4096, d_model=384, n_layers=12, n_heads=6, d_ff=1024, seq_len=256, batch=40)}


def hf_model(c):
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(vocab_size=c["vocab_size"], hidden_size=c["d_model"], intermediate_size=c["d_ff"],
                      num_hidden_layers=c["n_layers"], num_attention_heads=c["n_heads"],
                      num_key_value_heads=c["n_heads"], max_position_embeddings=c["seq_len"],
                      tie_word_embeddings=True, attn_implementation="sdpa")
    return LlamaForCausalLM(cfg)


def stepper(model, hf, x):
    cuda = x.is_cuda
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=cuda)

    def step():
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=cuda):
            loss = model(input_ids=x, labels=x).loss if hf else model(x[:, :-1], x[:, 1:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return step


def main(argv: list[str] | None = None, rounds: int = 6, steps: int = 4) -> None:
    ap = parser("bench_pilot", __doc__)
    ap.add_argument("--compile", action="store_true", help="also time the trainer's `compile: true`")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    args = ap.parse_args(argv)
    compile_too, cuda = args.compile, args.device == "cuda"
    dev = torch.device("cuda" if cuda else "cpu")
    if cuda:
        rounds, steps = 10, 20  # a GPU step takes milliseconds: longer blocks
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    torch.manual_seed(0)
    out = {"machine": describe(), "torch": torch.__version__, "threads": torch.get_num_threads(),
           "device": torch.cuda.get_device_name(0) if cuda else "cpu"}
    for name, c in (CUDA_CONFIGS if cuda else CONFIGS).items():
        ours = LM(ModelConfig(**{k: v for k, v in c.items() if k != "batch"})).to(dev)
        hf = hf_model(c).to(dev)
        x = torch.randint(0, c["vocab_size"], (c["batch"], c["seq_len"] + 1), device=dev)
        fns = {"cptlaw": (stepper(ours, False, x), c["batch"] * c["seq_len"]),
               "transformers": (stepper(hf, True, x[:, :-1]), c["batch"] * c["seq_len"])}
        if compile_too:  # the trainer's `compile: true` option (one-off compile time not counted)
            fns["cptlaw+compile"] = (stepper(torch.compile(LM(ModelConfig(**{k: v for k, v in c.items() if k != "batch"})).to(dev)),
                                             False, x), c["batch"] * c["seq_len"])
        times = {k: 0.0 for k in fns}
        for k, (fn, _) in fns.items():  # warm-up
            for _ in range(3):
                fn()
        sync()
        for _ in range(rounds):
            for k, (fn, _) in fns.items():
                t = time.perf_counter()
                for _ in range(steps):
                    fn()
                sync()
                times[k] += time.perf_counter() - t
        tps = {k: rounds * steps * fns[k][1] / times[k] for k in fns}
        n_ours = sum(p.numel() for p in ours.parameters())
        n_hf = sum(p.numel() for p in hf.parameters())
        out[name] = {"params_cptlaw": n_ours, "params_transformers": n_hf, "tokens_per_s": tps,
                     "ms_per_step": {k: 1e3 * times[k] / (rounds * steps) for k in fns},
                     "ratio": tps["cptlaw"] / tps["transformers"]}
        extra = ""
        if "cptlaw+compile" in tps:
            out[name]["ratio_compiled"] = tps["cptlaw+compile"] / tps["transformers"]
            extra = f", cptlaw+compile {tps['cptlaw+compile']:.0f} tok/s (ratio {out[name]['ratio_compiled']:.2f})"
        print(f"{name}: cptlaw {tps['cptlaw']:.0f} tok/s, transformers {tps['transformers']:.0f} tok/s, "
              f"ratio {tps['cptlaw'] / tps['transformers']:.2f} (params {n_ours} vs {n_hf}){extra}", flush=True)
    print(json.dumps(out, indent=2))

