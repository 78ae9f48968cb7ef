"""The command line's parser: every command, its options and help, with the shared option groups.  It imports
nothing heavy, so ``cptlaw --help`` answers at once; each command names its handler ("module:function" in this
package), imported only when that command runs (:mod:`cptlaw.cli.main`)."""

from __future__ import annotations

import argparse
import json
import math

from .._version import __version__
from ..kinds import KINDS
from ..limits import MAX_BOOTSTRAP, MAX_STARTS, MAX_STEPS, hint

EPILOGS = {
    "fit": """example:
  cptlaw fit runs.csv --law cpt --target loss:general --runs pt_const,cpt_cos --out fit.json
  cptlaw fit points.csv --law dcpt --target loss:code --out dcpt.json""",
    "select": """example:
  cptlaw select runs.csv --target loss:german --runs pt_const,pt_wsd,cpt_a,cpt_b,cpt_c --out german.json""",
    "pilots": """examples:
  cptlaw pilots --pt-steps 1200 --cpt-steps 1000 --peak-lr 2e-3 --domain german --out pilots.yaml
  cptlaw pilots --data runs.csv                  (which pilot kinds your runs already have)
then: cptlaw pilot sweep pilots.yaml""",
    "predict": """examples:
  cptlaw predict fit.json --data heldout.csv --out pred.csv
  cptlaw predict fit.json --schedule plan.yaml --steps 30000 --out plan.csv""",
    "evaluate": """example:
  cptlaw evaluate fit.json --data heldout.csv --runs cpt_wsd --json""",
    "plot": """example:
  cptlaw plot fit.json --data runs.csv --out fit.png""",
    "plan": """example:
  cptlaw plan space.yaml --general general.json --domain domain.json --out plan/
writes plan.json, top.csv, pareto.csv, recommended_<objective>.yaml (for cptlaw predict --schedule; with a
pilot section in the space, also a .pilot.yaml for cptlaw pilot run), pareto.png, curves.png, optima.png""",
    "dcpt-plan": """examples (D-CPT fits of the general loss with --corpus general and of the domain loss):
  cptlaw dcpt-plan ratio --general g.json --domain d.json --model-size 1.8e9 --tokens 1e10 \
      --general-before 2.86 --max-general-increase 0.03
  cptlaw dcpt-plan limited --domain d.json --model-size 1.8e9 --domain-tokens 5e9
  cptlaw dcpt-plan compute --domain d.json --compute 1e21 --ratio 0.7""",
    "ingest": """examples:
  cptlaw ingest out/trainer_state.json --schedule cosine.yaml --out runs.csv
  cptlaw ingest tb/pt tb/cpt --stitch --name cpt_wsd --out runs.csv
  cptlaw ingest metrics.csv --map step=iter,lr=lr,loss:general=val/loss --out runs.csv
  cptlaw ingest wandb/ --out runs.csv                 (W&B run folders, offline or online)
  cptlaw ingest wandb:my-team/cpt/3kx9a1b2 --out runs.csv""",
    "report": """examples:
  cptlaw report general.json domain.json --data german.csv --heldout s_german_const600_wsd_r25 --out report.html
  cptlaw report general.json domain.json --data german.csv --plan plan/plan.json --out report.html""",
    "watch": """example:
  cptlaw watch run/metrics.csv --fit general.json,domain.json --schedule plan.yaml --steps 3000 --every 60s""",
    "schedule": """examples:
  cptlaw schedule plan.yaml --steps 3000                          (its LR at its landmarks, and S1)
  cptlaw schedule plan.yaml --steps 3000 --plot lr.png
  cptlaw schedule --hf lr_scheduler_type=cosine,learning_rate=3e-4,warmup_steps=500,max_steps=20000 --out spec.yaml""",
    "demo": """example:
  cptlaw demo --out cptlaw-demo""",
    "pilot": """examples (needs the pilot extra: pip install "cptlaw[pilot]"):
  cptlaw pilot corpora build
  cptlaw pilot run pt.yaml
  cptlaw pilot sweep sweep.yaml --jobs 2
  cptlaw pilot sweep domains --jobs 12     (a bundled recipe; on one GPU)
  cptlaw pilot export domains data/domains""",
}


def _number(kind, lo=None, hi=None, lo_open=False, hi_open=False, what=""):
    """An argparse type: a finite number of ``kind`` in the given range (argparse turns the ValueError into
    a usage error, exit status 2); ``what`` follows the upper bound in its message (how to raise it)."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {'an integer' if kind is int else 'a number'}: {text!r}") from None
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
        if lo is not None and (value < lo or (lo_open and value == lo)):
            raise argparse.ArgumentTypeError(f"must be {'>' if lo_open else '>='} {lo}, got {text!r}")
        if hi is not None and (value > hi or (hi_open and value == hi)):
            raise argparse.ArgumentTypeError(f"must be {'<' if hi_open else '<='} {hi}{what}, got {text!r}")
        return value
    return parse


POSITIVE = _number(float, 0, lo_open=True)
_LAM = _number(float, 0, 1, hi_open=True)


def _lam(text: str):
    """--lam: a number in [0, 1), or 'fit'."""
    return "fit" if text == "fit" else _LAM(text)
COUNT = _number(int, 1)
STEPS = _number(int, 1, MAX_STEPS, what=f" ({hint('MAX_STEPS')})")
LEVEL = _number(float, 0, 1, lo_open=True, hi_open=True)


def _add(sub, name, help_):
    """A command with its help as description and its examples as epilog."""
    return sub.add_parser(name, help=help_, description=help_, epilog=EPILOGS[name],
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def _data_opts(sp):
    """Which runs of the data, their schedules, and the log options."""
    sp.add_argument("--runs", help="comma-separated run names (default: all)")
    sp.add_argument("--schedules", help="schedule side file (default: <data>.schedules.yaml if present); for a "
                                        "log, one schedule spec, or a mapping run -> spec")
    sp.add_argument("--drop-pt", action="store_true",
                    help="keep only the CPT part of each run (PT-only runs are dropped), as CPT-only runs for "
                         "the open-source mode (--pt unknown)")
    _source_opts(sp)


def _source_opts(sp):
    """What the data is, and how a log maps onto cptlaw's columns."""
    sp.add_argument("--kind", choices=["auto", *KINDS], default="auto",
                    help="what the data is (default: detected)")
    sp.add_argument("--map", help="logs: cptlaw column=source tag, e.g. step=iter,lr=learning_rate,loss:general=val/loss")
    sp.add_argument("--transfer", help="logs: first CPT step, or auto (stitch boundary or re-warmup; default), "
                                       "resume (where the last session resumed) or none")


def _out_opts(sp, help_):
    """--out and --force (never overwrite a user's file without it)."""
    sp.add_argument("--out", required=True, help=help_)
    sp.add_argument("--force", action="store_true", help="overwrite --out")


def _on_saved_fit(sub, name, help_, data_required=True):
    """A command that applies a saved fit to data: FIT positional, --data, --runs, --schedules."""
    sp = _add(sub, name, help_)
    sp.add_argument("fit", help="fit JSON")
    sp.add_argument("--data", nargs="+", required=data_required, help="native-format data file(s)")
    _data_opts(sp)
    return sp


def _fit_parser(sub) -> None:
    f = _add(sub, "fit", "Fit a law jointly on the observations of one validation set.")
    f.add_argument("data", nargs="+", help="native-format data file(s) (CSV, JSONL, Parquet), a D-CPT points table, or "
                                          "logs cptlaw ingest reads")
    f.add_argument("--law", required=True, choices=["annealing", "cpt", "mpl", "dcpt", "dcpt-cross", "ood"],
                   help="annealing (Tissue et al. 2024), cpt (Wang, Tissue et al. 2025; its form: cptlaw select), "
                        "mpl (multi-power, Luo et al. 2025), dcpt (Que et al. 2024) and its cross-domain form, "
                        "ood (an out-of-domain set from two fits, Eq. 6)")
    f.add_argument("--probe-steps", type=COUNT, default=50,
                   help="dcpt-cross: CPT steps of a domain's probe run that measure its K (default 50)")
    f.add_argument("--probe-replay", type=_number(float, 0, 1), default=0.25,
                   help="dcpt-cross: the replay ratio of each domain's probe run (default 0.25)")
    f.add_argument("--from", dest="from_", metavar="GENERAL,DOMAIN",
                   help="ood: the saved fits of the general (or proxy) set and of the domain set (Eq. 6)")
    f.add_argument("--target", required=True, help="validation set, e.g. loss:general")
    _out_opts(f, "fit JSON to write ('-' for stdout)")
    _data_opts(f)
    f.add_argument("--quiet", action="store_true", help="no progress bar (bars appear only on a terminal anyway)")
    g = f.add_argument_group("conventions (stored in the fit; each an option of the laws that have it)")
    _area_conventions(g)
    _cpt_options(g, forms=True)
    g.add_argument("--d-unit", type=POSITIVE, default=None, help="D-CPT token unit (default 1e9)")
    g.add_argument("--corpus", choices=["auto", "general", "domain"], default=None,
                   help="D-CPT: which corpus's mixture share r is (default: general for loss:general)")
    _optimiser_opts(f)
    u = f.add_argument_group("uncertainty")
    u.add_argument("--bootstrap", type=_number(int, 0, MAX_BOOTSTRAP, what=f" ({hint('MAX_BOOTSTRAP')})"),
                   default=0, metavar="N",
                   help="N bootstrap refits for parameter and prediction intervals (e.g. 200; default 0: none)")
    u.add_argument("--bootstrap-method", choices=["runs", "residuals"], default="runs",
                   help="resample whole runs (default; needs >= 3 runs) or block-resample each run's residuals")
    f.set_defaults(handler="fitting:fit")


def _area_conventions(g) -> None:
    """The area conventions every LR-schedule law has (stored in the fit)."""
    g.add_argument("--lam", type=_lam, default=None,
                   help="S2 momentum decay λ (default 0.999), or 'fit': chosen from {0.95, 0.99, 0.995, 0.999, 0.9995} by "
                        "the training objective (MPL paper App. D.2); the chosen λ is stored in the fit")
    g.add_argument("--warmup", choices=["as_peak", "literal"], default=None,
                   help="warmup convention (default as_peak; mpl: literal)")
    g.add_argument("--warmup-steps", type=_number(int, 0), default=None, help="warmup length (default: detected)")
    g.add_argument("--momentum", choices=["carry", "reset"], default=None,
                   help="S2 momentum across the PT->CPT boundary (default carry)")
    g.add_argument("--lr-index", choices=["inclusive", "exclusive"], default=None,
                   help="whether the loss at step t saw eta_t (default inclusive)")


def _cpt_options(g, forms: bool) -> None:
    """The CPT law's variants (Eq. 7, Eq. 8, open-source PT) and, with ``forms``, the forms ``cptlaw select``
    chooses among (shift clock, PT credit, PT weight)."""
    g.add_argument("--size", action="store_const", const=True, default=None,
                   help="model-size variant (needs model_size)")
    g.add_argument("--replay", choices=["general", "domain"], help="replay-ratio variant of the CPT law (Eq. 8)")
    g.add_argument("--replay-factor", choices=["exp", "power"], default=None,
                   help="with --replay: the domain-share factor of the shift term, the power r_cpt^a2 (default) or "
                        "Eq. 8's exponential (docs/accuracy-replay.md)")
    if forms:
        g.add_argument("--shift", choices=["area", "steps", "sqrt"], default=None,
                       help="cpt law: the clock of the distribution-shift term: the CPT forward area S1cpt (Eq. 4, "
                            "default), the CPT step count, or sqrt: the sum of sqrt(LR x PT peak LR) over CPT steps "
                            "(docs/accuracy-forms.md)")
        g.add_argument("--pt-credit", choices=["lasting", "fading"], default=None,
                       help="cpt law: the PT annealing credit C1*S2pt lasts (Eq. 4, default) or fades as the shift "
                            "proceeds")
        g.add_argument("--pt-weight", action="store_const", const=True, default=None,
                       help="cpt law: weigh PT steps in the forward area by a fitted w in (0, 1]: "
                            "A*(w*S1pt + S1cpt)^-alpha")
    g.add_argument("--pt", choices=["known", "unknown"], default=None,
                   help="cpt law: 'unknown' for an open-source PT model (§6, App. G): S1pt is fitted, the PT is "
                        "taken as annealed to 0, the data are CPT-only runs (see --drop-pt)")
    g.add_argument("--n-unit", type=POSITIVE, default=None, help="model-size unit (default 1e6)")


def _optimiser_opts(f) -> None:
    o = f.add_argument_group("optimiser")
    o.add_argument("--n-starts", type=_number(int, 1, MAX_STARTS, what=f" ({hint('MAX_STARTS')})"), default=128,
                   help="seeded multi-start points of the nonlinear parameters (default 128; a seed-independent "
                        "grid over their bounds is always added)")
    o.add_argument("--seed", type=_number(int, 0), default=0, help="seed of the multi-start (and bootstrap)")
    o.add_argument("--sampler", choices=["sobol", "grid"], default="sobol",
                   help="how the seeded starts are drawn: scrambled Sobol points (default) or a shuffled grid")
    o.add_argument("--delta", type=POSITIVE, default=1e-3, help="Huber delta on log-loss residuals (default 1e-3)")


def _select_parser(sub) -> None:
    sp = _add(sub, "select", "Choose the CPT law's form by cross-validation on your runs, and fit it.")
    sp.add_argument("data", nargs="+", help="native-format data file(s) or logs, with two or more CPT runs")
    sp.add_argument("--target", required=True, help="validation set, e.g. loss:german")
    sp.add_argument("--forms", help="comma-separated forms to try (default: all; see docs/accuracy-forms.md): "
                                    "eq4, sqrt, fading, w, sqrt+fading, sqrt+w, fading+w, sqrt+fading+w; with --replay, "
                                    "each also with the power replay factor, e.g. eq4+power (default: both factors, "
                                    "or the one --replay-factor names)")
    sp.add_argument("--refit", choices=["warm", "full"], default="warm",
                    help="fold fits: local solves from the all-runs fit (default, fast) or full multi-starts")
    sp.add_argument("--tolerance", type=_number(float, 0, 10), default=0.1,
                    help="parsimony: forms within this share of the best CV PredE count as tied (default 0.1)")
    sp.add_argument("--jobs", type=COUNT, default=None,
                    help="processes scoring the forms in parallel (default: one per CPU core; 1: none)")
    _out_opts(sp, "fit JSON of the chosen form, with the table ('-' for stdout)")
    _data_opts(sp)
    sp.add_argument("--json", action="store_true", help="print the table as JSON")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")
    g = sp.add_argument_group("conventions shared by every form (stored in the fit)")
    _area_conventions(g)
    _cpt_options(g, forms=False)
    _optimiser_opts(sp)
    sp.set_defaults(handler="fitting:select")


def _pilots_parser(sub) -> None:
    sp = _add(sub, "pilots", "Which pilot runs identify each term of the CPT law; which your runs have; a sweep "
                             "file for the rest.")
    sp.add_argument("--data", nargs="+", help="runs you have (native data or logs): show which pilot kinds they cover")
    _data_opts(sp)
    sp.add_argument("--pt-steps", type=_number(int, 8, MAX_STEPS, what=f" ({hint('MAX_STEPS')})"), help="PT length of the pilots (for --out)")
    sp.add_argument("--cpt-steps", type=_number(int, 10, MAX_STEPS, what=f" ({hint('MAX_STEPS')})"), help="CPT length of the pilots (for --out)")
    sp.add_argument("--peak-lr", type=POSITIVE, help="peak LR of PT and CPT (for --out)")
    sp.add_argument("--domain", help="the CPT domain's corpus name (for --out), e.g. german")
    sp.add_argument("--replay", type=_number(float, 0, 1, hi_open=True), default=0.25,
                    help="replay ratio of the CPT pilots (default 0.25)")
    sp.add_argument("--warmup", type=_number(int, 0), help="PT warmup steps (default: 5%% of PT)")
    sp.add_argument("--missing-only", action="store_true", help="with --data: the sweep trains only what is missing")
    sp.add_argument("--out", help="write a sweep file for cptlaw pilot sweep (YAML)")
    sp.add_argument("--force", action="store_true", help="overwrite --out")
    sp.set_defaults(handler="planning:pilots")


def _predict_parser(sub) -> None:
    pr = _on_saved_fit(sub, "predict", "Predict the loss of runs or of a planned schedule with a saved fit.",
                      data_required=False)
    pr.add_argument("--schedule", help="schedule spec (YAML/JSON) of a planned run")
    pr.add_argument("--steps", type=STEPS, help="number of steps of the planned run")
    pr.add_argument("--every", type=COUNT, help="also predict every K steps")
    pr.add_argument("--interval", type=LEVEL, metavar="LEVEL",
                    help="add lower,upper columns: the LEVEL prediction interval (e.g. 0.9) from the fit's bootstrap")
    _out_opts(pr, "CSV to write ('-' for stdout)")
    pr.set_defaults(handler="applying:predict")


def _evaluate_parser(sub) -> None:
    ev = _on_saved_fit(sub, "evaluate", "Score a saved fit on (held-out) runs: R2, MAE, RMSE, PredE, WorstE.")
    ev.add_argument("--json", action="store_true", help="print JSON")
    ev.add_argument("--cpt-only", action="store_true", help="score only the CPT rows of each run")
    ev.set_defaults(handler="applying:evaluate")


def _plot_parser(sub) -> None:
    pl = _on_saved_fit(sub, "plot", "Plot observed vs fitted/predicted loss, the LR schedule and residuals (PNG, SVG or PDF).")
    _out_opts(pl, "figure file (.png, .svg, .pdf)")
    pl.set_defaults(handler="applying:plot")


def _plan_parser(sub) -> None:
    pn = _add(sub, "plan", "Recommend CPT hyper-parameters from a plan space and a general/domain pair of CPT-law fits.")
    pn.add_argument("space", help="plan space (YAML): PT checkpoints, CPT knobs, objective, constraints")
    pn.add_argument("--general", required=True, help="CPT-law fit JSON of the general (PT-distribution) loss")
    pn.add_argument("--domain", required=True, help="CPT-law fit JSON of the domain loss")
    pn.add_argument("--ood", help="an OOD fit (cptlaw fit --law ood) made from these two fits: plan for that "
                                  "out-of-domain set (Eq. 6) instead of the space's objective")
    _out_opts(pn, "output folder")
    pn.add_argument("--top", type=COUNT, default=10, help="best candidates listed per objective (default 10)")
    pn.add_argument("--quiet", action="store_true", help="no progress bar (bars appear only on a terminal anyway)")
    pn.add_argument("--horizon", type=STEPS, default=None,
                    help="longest CPT searched for the turning length (default 10x the plan's steps)")
    pn.set_defaults(handler="planning:plan")


def _dcpt_plan_parser(sub) -> None:
    dp = _add(sub, "dcpt-plan", "The D-CPT law's three usages: the mixture ratio under a general-loss cap, with limited "
                          "domain data, and the model-size / token split of a compute budget.")
    dp.add_argument("usage", choices=["ratio", "limited", "compute"])
    dp.add_argument("--domain", required=True, help="D-CPT fit JSON of the domain loss (r = the domain share)")
    dp.add_argument("--general", help="D-CPT fit JSON of the general loss (fitted with --corpus general)")
    dp.add_argument("--model-size", type=POSITIVE, help="non-embedding parameters")
    dp.add_argument("--tokens", type=POSITIVE, help="CPT tokens (ratio)")
    dp.add_argument("--domain-tokens", type=POSITIVE, help="domain tokens available (limited)")
    dp.add_argument("--epochs", type=POSITIVE, default=1.0, help="passes over the domain data (limited; default 1)")
    dp.add_argument("--general-before", type=POSITIVE, help="the general loss before CPT")
    dp.add_argument("--max-general-increase", type=POSITIVE, help="cap on the general-loss rise (default: relative)")
    dp.add_argument("--absolute", action="store_true", help="the cap is in nats, not a fraction")
    dp.add_argument("--allow-extrapolation", action="store_true",
                    help="ratio, limited: search every domain share in (0, 1], not only the shares the fits saw")
    dp.add_argument("--compute", type=POSITIVE, help="training FLOPs, C = 6 N D (compute)")
    dp.add_argument("--ratio", type=_number(float, 0, 1), help="domain share of the mixture (compute)")
    dp.add_argument("--out", help="JSON to write (default: stdout)")
    dp.add_argument("--force", action="store_true", help="overwrite --out")
    dp.set_defaults(handler="planning:dcpt_plan")


def _ingest_parser(sub) -> None:
    ig = _add(sub, "ingest", "Read training logs (HF trainer_state.json, TensorBoard, Megatron, CSV/JSONL, MLflow, W&B) "
                       "into cptlaw's native format.")
    ig.add_argument("sources", nargs="+", help="log files or folders, or a W&B run: wandb:ENTITY/PROJECT/RUN_ID")
    _out_opts(ig, "native CSV to write")
    _source_opts(ig)
    ig.add_argument("--schedule", help="the run's LR schedule (a cptlaw spec, YAML/JSON; or a mapping run -> spec), "
                                       "needed when the LR is not logged at every step")
    ig.add_argument("--stitch", action="store_true", help="the sources are one run: a PT log, then a CPT log")
    ig.add_argument("--name", help="run name (default: the folder or file name)")
    ig.add_argument("--model-size", type=POSITIVE, help="non-embedding parameters")
    ig.add_argument("--tokens-per-step", type=POSITIVE, help="tokens per optimizer step")
    ig.add_argument("--replay-ratio", type=_number(float, 0, 1), help="share of PT data in the CPT batches")
    ig.add_argument("--lr-shift", type=_number(int, -1, 1), help="the LR logged at step s was applied at step "
                                                                 "s + SHIFT (default: the source's convention)")
    ig.add_argument("--quiet", action="store_true", help="print warnings only")
    ig.set_defaults(handler="logs:ingest")


def _report_parser(sub) -> None:
    rp = _add(sub, "report", "One self-contained HTML page: the data, each fit (equation, parameters, diagnostics, "
                       "curves), held-out scores and a plan.")
    rp.add_argument("fits", nargs="+", help="fit JSON file(s)")
    rp.add_argument("--data", nargs="+", required=True, help="the data the fits were made on (and held-out runs)")
    rp.add_argument("--heldout", help="comma-separated runs to score as held out (default: none)")
    rp.add_argument("--plan", help="a plan.json written by cptlaw plan")
    rp.add_argument("--title", default="cptlaw report", help="the page's title")
    rp.add_argument("--schedules", help="schedule side file (default: <data>.schedules.yaml if present)")
    _source_opts(rp)
    _out_opts(rp, "HTML file to write")
    rp.set_defaults(handler="reporting:report")


def _watch_parser(sub) -> None:
    wt = _add(sub, "watch", "A live forecast of a running job: follow its growing log, forecast the final losses with "
                      "bands, and warn when an observation leaves its predicted band.")
    wt.add_argument("log", help="the run's log: native CSV/JSONL, or a log cptlaw ingest reads (trainer_state.json, "
                                "TensorBoard, ...)")
    wt.add_argument("--fit", required=True, help="fit JSON(s), comma-separated (e.g. general.json,domain.json)")
    wt.add_argument("--schedule", required=True, help="the run's planned LR schedule (a cptlaw spec, YAML/JSON)")
    wt.add_argument("--steps", required=True, type=STEPS, help="the run's planned number of steps")
    wt.add_argument("--every", default="60s", help="how often to read the log (default 60s)")
    wt.add_argument("--updates", type=COUNT, help="stop after this many reports (default: until Ctrl-C)")
    wt.add_argument("--run", help="the run to follow in a log with several")
    wt.add_argument("--kind", choices=["auto", *KINDS], default="auto", help="what the log is (default: detected)")
    wt.set_defaults(handler="logs:watch")


def hf_arguments(text: str) -> dict:
    """``--hf``: ``lr_scheduler_type=cosine,learning_rate=3e-4,lr_scheduler_kwargs={"min_lr_rate": 0.1}`` -> a
    mapping (commas inside braces belong to the value; a value is read as JSON where it is JSON, else as text)."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    out = {}
    for part in parts + [current]:
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise argparse.ArgumentTypeError(f"{part!r}: write KEY=VALUE, e.g. lr_scheduler_type=cosine")
        if key.strip() in out:
            raise argparse.ArgumentTypeError(f"{key.strip()} given twice")
        try:
            out[key.strip()] = json.loads(value.strip())
        except json.JSONDecodeError:
            out[key.strip()] = value.strip()
    return out


def _schedule_parser(sub) -> None:
    sc = _add(sub, "schedule", "See an LR schedule before fitting: print its LR at its landmarks and its area, plot "
                               "it, or write the spec of an HF Trainer's scheduler from its arguments.")
    sc.add_argument("spec", nargs="?", help="a cptlaw schedule spec (YAML/JSON); or give --hf")
    sc.add_argument("--hf", metavar="ARGS", type=hf_arguments, help="HF TrainingArguments, comma-separated KEY=VALUE: lr_scheduler_type, "
                                                 "learning_rate, max_steps, warmup_steps or warmup_ratio, "
                                                 "lr_scheduler_kwargs (a JSON mapping)")
    sc.add_argument("--steps", type=STEPS, help="how many steps to show (default: the schedule's length, or --hf's "
                                                "max_steps)")
    sc.add_argument("--plot", help="also draw the LR to this figure (.png, .svg or .pdf)")
    sc.add_argument("--out", help="write the spec (YAML) here; '-' prints it")
    sc.add_argument("--force", action="store_true", help="overwrite --out and --plot")
    sc.set_defaults(handler="applying:schedule")


def _demo_parser(sub) -> None:
    de = _add(sub, "demo", "Fit -> predict held-out schedules -> plots -> accuracy -> a plan, on data that ships with cptlaw.")
    de.add_argument("--out", default="cptlaw-demo", help="output folder (default ./cptlaw-demo)")
    de.add_argument("--force", action="store_true", help="overwrite files in --out")
    de.add_argument("--quick", action="store_true", help="fewer multi-starts (for smoke tests)")
    de.set_defaults(handler="demo:demo")


def _pilot_parser(sub) -> None:
    pi = _add(sub, "pilot", "Train small LLaMA-style pilot models (PT, then CPT with replay) and write native data.")
    pisub = pi.add_subparsers(dest="pilot_command", required=True, metavar="PILOT_COMMAND")
    co = pisub.add_parser("corpora", help="build the corpora and tokenizer (cptlaw pilot corpora build)")
    co.add_argument("action", choices=["build"])
    co.add_argument("--only", help="comma-separated corpora (default: all)")
    co.add_argument("--root", help="cache folder (default: $CPTLAW_CACHE or ~/.cache/cptlaw)")
    co.add_argument("--vocab-size", type=_number(int, 260, 1_000_000), default=4096)
    ru = pisub.add_parser("run", help="train one run from a YAML config (resumes after a crash)")
    co.set_defaults(handler="pilot:corpora")
    ru.add_argument("config")
    ru.set_defaults(handler="pilot:run")
    sw = pisub.add_parser("sweep", help="run a sweep, skipping finished runs")
    sw.add_argument("config", help="a sweep YAML file, or a bundled recipe: german-mix, domains")
    sw.add_argument("--jobs", type=COUNT, default=1, help="worker processes (default 1)")
    sw.add_argument("--dry-run", action="store_true", help="list the runs only")
    sw.add_argument("--quiet", action="store_true", help="no progress bar (bars appear only on a terminal anyway)")
    sw.set_defaults(handler="pilot:sweep")
    ex = pisub.add_parser("export", help="pack a sweep's finished runs into a compact native dataset "
                                         "(evaluation rows + schedule side file)")
    ex.add_argument("config", help="the sweep YAML file or bundled recipe (its out: folder, from here)")
    ex.add_argument("dest", help="folder for runs.csv, runs.schedules.yaml and provenance.json")
    ex.add_argument("--force", action="store_true", help="overwrite existing files")
    ex.set_defaults(handler="pilot:export")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cptlaw", description="Fit and apply scaling laws of continual pre-training.")
    p.add_argument("--version", action="version", version=f"cptlaw {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (_fit_parser, _select_parser, _pilots_parser, _predict_parser, _evaluate_parser, _plot_parser, _plan_parser, _dcpt_plan_parser,
                    _ingest_parser, _report_parser, _watch_parser, _schedule_parser, _demo_parser, _pilot_parser):
        command(sub)
    return p
