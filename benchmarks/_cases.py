"""The real-data cases the accuracy, robustness and calibration scripts share: (data label, law class, runs,
target, fitting runs, held-out runs, score only CPT rows)."""

from pathlib import Path

from cptlaw.data import read_runs
from cptlaw.datasets import MPL_TEST, MPL_TRAIN, load, load_mpl
from cptlaw.demo import PILOT_FIT, PILOT_HELDOUT as PILOT_HELD
from cptlaw.laws import AnnealingLaw, CPTLaw, MultiPowerLaw

GERMAN = Path(__file__).resolve().parents[2] / "shared" / "data" / "pilot-gpu-german" / "german.csv"


def pilot_names(model: str, domain: str, runs) -> tuple[list[str], list[str]]:
    """The demo's fitting and held-out pilot-v1 runs for one model size and domain."""
    fit = [n.format(m=model, d=domain) for n in PILOT_FIT]
    held = [n.format(m=model, d=domain) for n in PILOT_HELD if n.format(m=model, d=domain) in runs]
    return fit, held


def pilot_cases(models=("s", "m"), domains=("code", "legal")):
    pilot = load("pilot-v1")
    for m in models:
        for d in domains:
            fit, held = pilot_names(m, d, pilot)
            for target in ("loss:general", f"loss:{d}"):
                yield f"pilot-v1 {m}/{d}", CPTLaw, pilot, target, fit, held, True


def mpl_cases(laws=(AnnealingLaw, MultiPowerLaw)):
    mpl = load_mpl(400)
    for law in laws:
        yield "MPL 400M", law, mpl, "loss:train", list(MPL_TRAIN), list(MPL_TEST), False


def german_cases():
    """pilot-gpu-german (../shared; nothing when absent): per size, the fitting runs of its PROVENANCE.md, and
    every other replay-0.25 CPT run held out."""
    if not GERMAN.exists():
        return
    german = read_runs(GERMAN)
    for z in ("s", "m", "l"):
        fit = [f"{z}_pt_const", f"{z}_pt_wsd", f"{z}_german_const600_constant_r25",
               f"{z}_german_const600_cosine_r25", f"{z}_german_const300_cosine_r25"]
        held = [n for n in german.names if n.startswith(f"{z}_german_") and n.endswith("_r25") and n not in fit]
        for target in ("loss:general", "loss:german"):
            yield f"pilot-gpu-german {z}", CPTLaw, german, target, fit, held, True
