"""The real-data cases the accuracy, robustness and calibration scripts share: (data label, law class, runs,
target, fitting runs, held-out runs, score only CPT rows)."""

from cptlaw.data import read_runs
from cptlaw.datasets import load, load_mpl
from cptlaw.datasets.splits import MPL_SPLIT, gpu_german_rest_split, gpu_german_split, pilot_split
from cptlaw.laws import AnnealingLaw, CPTLaw, MultiPowerLaw

from .harness import SHARED_DATA

GERMAN = SHARED_DATA / "pilot-gpu-german" / "german.csv"
# the bundled PT->CPT sets with the demo's five-pilot split: (dataset, sizes, domains, split of a size and domain)
PILOT_SETS = [("pilot-gpu-german", ("s", "m", "l"), ("german",), gpu_german_split),
              ("pilot-gpu-german-mix", ("s", "m"), ("german",), gpu_german_split),
              ("pilot-v1", ("s", "m"), ("code", "legal"), pilot_split)]


def five_pilot_splits():
    """(dataset, its runs, size, domain, the five-pilot split narrowed to the runs present), in order."""
    for ds, sizes, domains, split_of in PILOT_SETS:
        runs = load(ds)
        for m in sizes:
            for d in domains:
                yield ds, runs, m, d, split_of(m, d).present(runs)


def pilot_cases(models=("s", "m"), domains=("code", "legal")):
    """pilot-v1 per model and domain: the demo's split (``pilot_split``), general and domain loss."""
    pilot = load("pilot-v1")
    for m in models:
        for d in domains:
            split = pilot_split(m, d).present(pilot)
            for target in ("loss:general", f"loss:{d}"):
                yield f"pilot-v1 {m}/{d}", CPTLaw, pilot, target, list(split.fit), list(split.held_out), CPTLaw.HELDOUT_CPT_ROWS


def mpl_cases(laws=(AnnealingLaw, MultiPowerLaw)):
    mpl = load_mpl(400)
    for law in laws:
        yield "MPL 400M", law, mpl, "loss:train", list(MPL_SPLIT.fit), list(MPL_SPLIT.held_out), law.HELDOUT_CPT_ROWS


def german_cases():
    """pilot-gpu-german (../shared; nothing when absent): per size, the fitting runs of its PROVENANCE.md, and
    every other replay-0.25 CPT run held out."""
    if not GERMAN.exists():
        return
    german = read_runs(GERMAN)
    for z in ("s", "m", "l"):
        split = gpu_german_rest_split(z, german.names)
        for target in ("loss:general", "loss:german"):
            yield f"pilot-gpu-german {z}", CPTLaw, german, target, list(split.fit), list(split.held_out), CPTLaw.HELDOUT_CPT_ROWS


def german_mix_cases():
    """pilot-gpu-german-mix (bundled; 5 % German in PT), per size: the demo's fit runs, every other replay-0.25
    CPT run held out."""
    mix = load("pilot-gpu-german-mix")
    for z in ("s", "m"):
        split = gpu_german_rest_split(z, mix.names)
        for target in ("loss:general", "loss:german"):
            yield f"pilot-gpu-german-mix {z}", CPTLaw, mix, target, list(split.fit), list(split.held_out), CPTLaw.HELDOUT_CPT_ROWS
