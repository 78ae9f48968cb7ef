"""Hostile input, one case per class of issue 22: every command given a broken, huge or edited input exits with
status 2 and a message naming the problem, within a few seconds, under a memory cap, and leaves every input
file byte-identical.  And the converse: a valid file is never refused for its encoding or compression.

The cases run in-process (``cptlaw.cli.main``) under a wall-clock alarm and an address-space cap 2 GiB above
what the test process already maps, so a case that would allocate gigabytes or hang fails the test instead of
the machine."""

import bz2
import gzip
import hashlib
import json
import lzma
import resource
import signal
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from cptlaw.cli import main
from tests.cli.test_plan import SPACE

SECONDS = 10  # a generous bound on a 2-core machine under load; the cases take well under 1 s each
SCHEDULE = "kind: warmup\nsteps: 100\nschedule: {kind: constant, lr: 2.0e-3}\n"  # s_pt_const's schedule
BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n" for p, c in zip("abcdefgh", "bcdefghi"))


class Hung(Exception):
    pass


@contextmanager
def bounded(seconds: int = SECONDS, extra_bytes: int = 2 << 30):
    """Raise Hung after ``seconds``; cap the address space at its current size plus ``extra_bytes``."""
    def alarm(signum, frame):
        raise Hung(f"still running after {seconds} s")

    with open("/proc/self/statm") as f:
        mapped = int(f.read().split()[0]) * resource.getpagesize()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = mapped + extra_bytes
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))
    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def digests(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()}


@pytest.fixture(scope="module")
def inputs(german_fits, tmp_path_factory):
    """Every hostile input, written once; the tests copy nothing and must change nothing."""
    d = tmp_path_factory.mktemp("hostile")
    data = Path(german_fits["data"]).read_text()
    lines = data.splitlines()
    header, rows = lines[0], lines[1:]
    g = json.loads(Path(german_fits["general"]).read_text())
    files = {
        "data.csv": data,
        "g.json": json.dumps(g),
        "d.json": Path(german_fits["domain"]).read_text(),
        "space.yaml": yaml.safe_dump(SPACE),
        "sched.yaml": SCHEDULE,
        "huge_step.csv": data + "s_pt_const,1000000000000000,pt,0.002,,3.0,,1607808.0,10240.0,\n",
        "bomb.yaml": BOMB + "pt: *i\n",
        "unhashable.yaml": "pt:\n  ? [a, b]\n  : 1\n",
        "deep.json": "[" * 100000 + "]" * 100000,
        "transfer_after.yaml": "kind: continual\npt: {kind: cosine, peak: 0.002, steps: 1000}\n"
                               "cpt: {kind: cosine, peak: 0.001, steps: 500}\ntransfer: 5000\n",
    }
    files["script.csv"] = "step,lr,val/loss,notes\n" + "".join(f"{k},0.001,{3.0 - 0.01 * k if k % 5 == 0 else ''},x\n"
                                                             for k in range(20))
    files["text_loss.csv"] = files["script.csv"].replace(",3.0,x", ",abc,x", 1)
    lr_col = header.split(",").index("lr")
    first = rows[50].split(",")
    first[lr_col] = "1e308"
    files["huge_lr.csv"] = "\n".join([header] + rows[:50] + [",".join(first)] + rows[51:]) + "\n"
    files["int64_step.csv"] = data + "s_pt_const,9000000000000000000,pt,0.002,,3.0,,1607808.0,10240.0,\n"
    edited = json.loads(json.dumps(g))
    edited["options"]["lam"] = 5
    files["lam5.json"] = json.dumps(edited)
    files["peak_list.yaml"] = "kind: cosine\npeak: [1, 2]\nsteps: 1000\n"
    files["endpoint_text.yaml"] = 'kind: warmup\nsteps: 10\nendpoint: "false"\nschedule: {kind: constant, lr: 0.001}\n'
    ood = json.loads(json.dumps(SPACE))
    ood["objective"] = {"ood": {"general": float("nan"), "domain": 0.5}}
    files["ood_nan.yaml"] = yaml.safe_dump(ood)
    files["plan_types.json"] = json.dumps({"recommendations": "x", "fits": {}})
    files["plan_no_plan.json"] = json.dumps({"recommendations": [{"objective": "lambda1=0.5", "feasible": True}]})
    big = json.loads(json.dumps(g))
    big["params"]["L0"] = big["parameters"]["L0"]["value"] = 1e308
    files["big.json"] = json.dumps(big)
    for name, change in (("num.yaml", lambda s: s["cpt"].__setitem__("peak_lr", {"min": 1e-4, "max": 1e-3,
                                                                                  "num": 10**12})),
                         ("pt_end.yaml", lambda s: s["pt"].__setitem__("transfer", [300, 5000]))):
        space = json.loads(json.dumps(SPACE))
        change(space)
        files[name] = yaml.safe_dump(space)
    # three evaluations of loss:general (in the CPT part of one run) for a law of eight parameters
    col = header.split(",").index("loss:general")
    kept, few = 0, [header]
    for line in rows:
        v = line.split(",")
        if v[0] not in ("s_pt_const", "s_german_const600_cosine_r25"):
            continue
        if v[col] and (v[2] != "cpt" or kept >= 3):
            v[col] = ""
        kept += bool(v[col])
        few.append(",".join(v))
    files["few.csv"] = "\n".join(few) + "\n"
    for name, text in files.items():
        (d / name).write_text(text)
    return d


def F(name):
    return f"{{d}}/{name}"


PLAN = ["--general", F("g.json"), "--domain", F("d.json"), "--out", F("plan_out"), "--force"]
CASES = {
    # sizes checked before anything is allocated
    "a step of 10^15 in a log": (["fit", F("huge_step.csv"), "--law", "cpt", "--target", "loss:general",
                                  "--n-starts", "2", "--out", F("o.json")], "1000000000000000"),
    "--n-starts 10^12": (["fit", F("data.csv"), "--law", "cpt", "--target", "loss:general", "--n-starts", "1e12",
                          "--out", F("o.json")], "--n-starts"),
    "--n-starts beyond the limit": (["fit", F("data.csv"), "--law", "cpt", "--target", "loss:general",
                                     "--n-starts", str(10**12), "--out", F("o.json")], "CPTLAW_MAX_STARTS"),
    "--bootstrap beyond the limit": (["fit", F("data.csv"), "--law", "cpt", "--target", "loss:general",
                                      "--bootstrap", str(10**12), "--out", F("o.json")], "CPTLAW_MAX_BOOTSTRAP"),
    "a range of 10^12 values": (["plan", F("num.yaml"), *PLAN], "CPTLAW_MAX_CANDIDATES"),
    "--horizon 10^15": (["plan", F("space.yaml"), *PLAN, "--horizon", str(10**15)], "CPTLAW_MAX_STEPS"),
    "watch --steps 10^15": (["watch", F("data.csv"), "--fit", F("g.json"), "--schedule", F("sched.yaml"),
                             "--steps", str(10**15), "--updates", "1"], "CPTLAW_MAX_STEPS"),
    # YAML and JSON
    "a YAML alias bomb (plan space)": (["plan", F("bomb.yaml"), *PLAN], "aliases"),
    "a YAML alias bomb (schedule)": (["predict", F("g.json"), "--schedule", F("bomb.yaml"), "--steps", "100",
                                     "--out", F("p.csv")], "aliases"),
    "a list as a mapping key": (["plan", F("unhashable.yaml"), *PLAN], "mapping key"),
    "JSON nested 10^5 deep (fit)": (["predict", F("deep.json"), "--schedule", F("sched.yaml"), "--steps", "100",
                                     "--out", F("p.csv")], "nested too deeply"),
    "JSON nested 10^5 deep (plan)": (["report", F("g.json"), "--data", F("data.csv"), "--plan", F("deep.json"),
                                      "--out", F("r.html")], "nested too deeply"),
    # edited or odd values
    "a fit parameter of 1e308": (["predict", F("big.json"), "--schedule", F("sched.yaml"), "--steps", "100",
                                  "--out", F("p.csv")], "L0 = 1e+308"),
    "plan JSON fields of the wrong type": (["report", F("g.json"), "--data", F("data.csv"), "--plan",
                                            F("plan_types.json"), "--out", F("r.html")], "recommendations"),
    "a recommendation without its plan": (["report", F("g.json"), "--data", F("data.csv"), "--plan",
                                           F("plan_no_plan.json"), "--out", F("r.html")], "without its plan"),
    "watch --every inf": (["watch", F("data.csv"), "--fit", F("g.json"), "--schedule", F("sched.yaml"),
                           "--steps", "1200", "--every", "inf", "--updates", "1"], "--every"),
    # silent acceptances
    "--map on a native file": (["ingest", F("data.csv"), "--map", "loss:general=eval_loss", "--out", F("o.csv")],
                               "--kind table"),
    "ingest would write a step below 0": (["ingest", F("script.csv"), "--lr-shift", "-1", "--out", F("o.csv")],
                                          "a step must be >= 0"),
    "a loss column of text": (["ingest", F("text_loss.csv"), "--out", F("o.csv")], "val/loss: not a number: 'abc'"),
    "an LR of 1e308 in a log": (["fit", F("huge_lr.csv"), "--law", "cpt", "--target", "loss:general",
                                 "--n-starts", "2", "--out", F("o.json")], "a learning rate above 10"),
    "a step beyond int64 floats": (["evaluate", F("g.json"), "--data", F("int64_step.csv")], "9000000000000000000"),
    "an edited fit option (lam 5)": (["predict", F("lam5.json"), "--schedule", F("sched.yaml"), "--steps", "100",
                                      "--out", F("p.csv")], "lam must be in [0, 1)"),
    "a list for a schedule's number": (["schedule", F("peak_list.yaml"), "--steps", "100"], "expected one value"),
    "a boolean given as text": (["schedule", F("endpoint_text.yaml"), "--steps", "20"], "expected true or false"),
    "HF kwargs of the wrong type": (["schedule", "--hf", "lr_scheduler_type=cosine_with_min_lr,learning_rate=3e-4,"
                                     'max_steps=1000,lr_scheduler_kwargs={"min_lr_rate": "x"}'], "TrainingArguments"),
    "an OOD objective of NaN": (["plan", F("ood_nan.yaml"), *PLAN], "finite"),
    "schedule --out and --plot the same file": (["schedule", F("sched.yaml"), "--steps", "10", "--out",
                                                 F("same.png"), "--plot", F("same.png")], "same file"),
    "--out - for a folder": (["plan", F("space.yaml"), "--general", F("g.json"), "--domain", F("d.json"),
                              "--out", "-"], "--out -"),
    "--out - for a figure": (["plot", F("g.json"), "--data", F("data.csv"), "--out", "-"], "--out -"),
    "more parameters than points": (["fit", F("few.csv"), "--law", "cpt", "--target", "loss:general",
                                     "--n-starts", "2", "--out", F("o.json")], "cannot determine the 8 parameters"),
    "watch a run the log lacks": (["watch", F("data.csv"), "--fit", F("g.json"), "--schedule", F("sched.yaml"),
                                   "--steps", "1200", "--run", "nope", "--every", "1", "--updates", "1"],
                                  "no run named 'nope'"),
    "watch a horizon shorter than the log": (["watch", F("data.csv"), "--fit", F("g.json"), "--schedule",
                                              F("sched.yaml"), "--steps", "500", "--run", "s_pt_const",
                                              "--every", "1", "--updates", "1"], "past the end of the planned run"),
    "a transfer after the PT schedule's end": (["predict", F("g.json"), "--schedule", F("transfer_after.yaml"),
                                                "--steps", "6000", "--out", F("p.csv")], "after the end"),
    "a transfer after the run's end": (["predict", F("g.json"), "--schedule", F("transfer_after.yaml"),
                                        "--steps", "600", "--out", F("p.csv")], "after the end"),
    "a plan transfer after a PT schedule's end": (["plan", F("pt_end.yaml"), *PLAN], "after the end"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_input_exits_2_quickly_and_changes_nothing(case, inputs, capsys):
    argv, needle = CASES[case]
    argv = [a.replace("{d}", str(inputs)) for a in argv]
    before = digests(inputs)
    t0 = time.perf_counter()
    with bounded():
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code
    elapsed = time.perf_counter() - t0
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and needle in err, err
    assert elapsed < SECONDS
    assert digests(inputs) == before  # no input touched (and no output written beside them)


def test_suspicious_plan_pairs_are_warned(inputs, capsys, tmp_path):
    d = inputs
    assert main(["plan", str(d / "space.yaml"), "--general", str(d / "g.json"), "--domain", str(d / "g.json"),
                 "--out", str(tmp_path / "a")]) == 0
    assert "are the same fit" in capsys.readouterr().err
    assert main(["plan", str(d / "space.yaml"), "--general", str(d / "d.json"), "--domain", str(d / "g.json"),
                 "--out", str(tmp_path / "b")]) == 0
    assert "are they swapped?" in capsys.readouterr().err
    assert main(["plan", str(d / "space.yaml"), "--general", str(d / "g.json"), "--domain", str(d / "d.json"),
                 "--out", str(tmp_path / "c")]) == 0
    assert "warning: --general" not in capsys.readouterr().err


@pytest.mark.parametrize("variant", ["bom", "utf-16", "latin-1", "gz", "bz2", "xz", "txt", "gz-named-csv"])
def test_a_valid_table_is_read_whatever_its_encoding_or_compression(variant, inputs, tmp_path, capsys):
    data = (inputs / "data.csv").read_text()
    renamed = data.replace("s_pt_const", "s_pt_cönst")  # a name that is not ASCII
    plain = tmp_path / "plain.csv"
    plain.write_text(renamed, encoding="utf-8")
    writers = {"bom": ("v.csv", lambda t: t.encode("utf-8-sig")), "utf-16": ("v.csv", lambda t: t.encode("utf-16")),
               "latin-1": ("v.csv", lambda t: t.encode("latin-1")), "gz": ("v.csv.gz", lambda t: gzip.compress(t.encode())),
               "bz2": ("v.csv.bz2", lambda t: bz2.compress(t.encode())), "xz": ("v.csv.xz", lambda t: lzma.compress(t.encode())),
               "txt": ("v.txt", lambda t: t.encode()),
               "gz-named-csv": ("v.csv", lambda t: gzip.compress(t.encode()))}  # (told by its first bytes)
    name, write = writers[variant]
    (tmp_path / name).write_bytes(write(renamed))
    kind = ["--kind", "native"] if variant == "txt" else []
    out = {}
    for label, path in (("plain", plain), ("variant", tmp_path / name)):
        assert main(["evaluate", str(inputs / "g.json"), "--data", str(path), "--json", *kind]) == 0, \
            capsys.readouterr().err
        out[label] = json.loads(capsys.readouterr().out)
    assert out["variant"] == out["plain"]
    assert "s_pt_cönst" in json.dumps(out["plain"], ensure_ascii=False)
