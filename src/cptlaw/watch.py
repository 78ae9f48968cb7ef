"""``cptlaw watch``: a live forecast of a running job from its growing log.

Every ``every`` seconds the log is read again (never written: it is opened read-only, and nothing is written
next to it), the new evaluations of each fitted validation set are set against the fit's prediction on the
run's planned schedule, and one line per set reports the latest observation, its predicted band and the forecast
of the final loss with its band.  An observation outside the band is a warning: a divergence, a data problem, or
a law that no longer holds for this run.

**The band.**  The prediction times ``1 ± band_width`` (3) times the fit's training PredE (its mean relative
error on the runs it was fitted on: the noise and misfit the fit itself showed, relative, so that a fit whose PT
rows sit at 7 nats does not widen the band of a CPT phase at 2 nats); when the fit has bootstrap samples, the
bootstrap interval (at ``level``) is widened by the same relative amount.  The fit is not refitted: the forecast is the fitted law applied to
the planned schedule, so the band is what the fit promised before the run started.

**Logs.**  A native CSV/JSONL (``run, step, loss:<set>`` columns; the LR comes from the plan), or any log
:mod:`cptlaw.ingest` reads (HF ``trainer_state.json``, TensorBoard, ...).  The plan counts steps from 0 (step s
applies the spec's LR s); a log that counts them from 1 (HF's ``global_step``, cptlaw's HF callback) is placed on
the plan by the LR it recorded.  A log caught mid-write (a partial last
line) is read again at the next tick.  A log that disappears is an error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import ingest
from .data import Run
from .data.table import numeric, read_table, text
from .errors import DataError
from .fit.bootstrap import prediction_interval
from .limits import MAX_EVERY_SECONDS

BAND_WIDTH = 3.0  # half-width of the band, in units of the fit's training PredE


def parse_every(text: str) -> float:
    """'60', '60s', '2m', '1h' -> seconds."""
    t = str(text).strip().lower()
    scale = {"s": 1.0, "m": 60.0, "h": 3600.0}.get(t[-1:], None)
    try:
        value = float(t[:-1] if scale else t) * (scale or 1.0)
    except ValueError:
        raise DataError(f"--every {text!r}: give seconds, e.g. 60, 60s, 2m") from None
    if not 0 < value <= MAX_EVERY_SECONDS:
        raise DataError(f"--every {text!r}: give a positive number of seconds, at most {MAX_EVERY_SECONDS:g} (a day)")
    return value


def _offset(log: Path, steps: np.ndarray, lr: np.ndarray, planned: Run | None) -> int:
    """How the log's step numbers sit on the plan's 0-based update index: k such that the log's step s is the
    plan's step s - k (1 for HF's global_step, 0 for a 0-based loop), found from the LR the log recorded.  No LR
    in the log: 0."""
    ok = np.isfinite(lr)
    if planned is None or not ok.any():
        return 0
    steps, lr, n = steps[ok].astype(np.int64), lr[ok], planned.lr.size
    for k in (0, 1, -1):
        idx = steps - k
        inside = (idx >= 0) & (idx < n)
        if inside.sum() and np.allclose(lr[inside], planned.lr[idx[inside]], rtol=1e-3, atol=1e-12):
            return k
    raise DataError(f"{log}: the LR the log recorded does not follow the planned schedule (--schedule), whichever "
                    f"way its steps are counted; is it the schedule of this run?")


def observations(log: Path, targets: list[str], run: str | None = None, kind: str = "auto",
                 planned: Run | None = None) -> dict:
    """target -> (steps, values) observed so far in the log (one run: ``run``, or the log's first run).  A log
    that ``cptlaw.ingest`` reads gets the planned run's LR as its schedule (its own LR may be sparse)."""
    if not log.exists():
        raise DataError(f"{log}: the log is gone (deleted or moved while watched)")
    k = ingest.detect(log) if kind == "auto" else kind
    if k == "native":
        table = read_table(log, text_columns=("run",))
        if "step" not in table.columns:
            raise DataError(f"{log}: no step column")
        names = text(table.data["run"]) if "run" in table.columns else np.full(table.n, None, object)
        chosen = run or next((n for n in names if n is not None), None)
        keep = names == chosen if "run" in table.columns else np.ones(table.n, bool)
        if run and "run" in table.columns and table.n and not keep.any():
            raise DataError(f"{log}: no run named {run!r} (--run); the log holds: "
                            f"{', '.join(sorted({str(n) for n in names if n is not None})[:20])}")
        steps, _ = numeric(table.data["step"])
        lr = numeric(table.data["lr"])[0] if "lr" in table.columns else np.full(table.n, np.nan)
        k = _offset(log, steps[keep], lr[keep], planned)
        out = {}
        for t in targets:
            if t not in table.columns:
                out[t] = (np.zeros(0, np.int64), np.zeros(0))
                continue
            v, bad = numeric(table.data[t])
            if bad[:-1].any():  # (a bad last row may be a line caught mid-write: the watcher reads it again)
                i = int(np.flatnonzero(bad)[0])
                raise DataError(f"{log}:{table.rows[i]}: {t}: not a number")
            if bad.size and bad[-1]:
                raise DataError(f"{log}:{table.rows[-1]}: {t}: not a number (yet?)")
            ok = keep & np.isfinite(v) & np.isfinite(steps)
            out[t] = (steps[ok].astype(np.int64) - k, v[ok])
        return out
    schedule = None
    if planned is not None:
        lr = planned.lr
        schedule = lambda s: lr[np.clip(np.asarray(s, np.int64), 0, lr.size - 1)]  # noqa: E731
    runs = ingest.read([log], kind=k, transfer=None, schedules=schedule).runs
    if run and run not in runs.names:
        raise DataError(f"{log}: no run named {run!r} (--run); the log holds: {', '.join(runs.names[:20])}")
    r = runs[run] if run else next(iter(runs))
    k = _offset(log, r.steps, r.lr, planned)
    return {t: (r.steps[r.observed(t)[0]] - k, r.observed(t)[1]) for t in targets}


@dataclass
class Line:
    target: str
    step: int | None
    observed: float | None
    predicted: float | None
    band: tuple[float, float] | None
    final: float
    final_band: tuple[float, float]
    outside: list[tuple[int, float, float, float]] = field(default_factory=list)  # (step, observed, lo, hi)


class Forecaster:
    """The fits' predictions on the planned run, with their bands, and the check of new observations."""

    def __init__(self, laws: list, planned: Run, level: float = 0.9, band_width: float = BAND_WIDTH):
        self.fits, self.planned, self.seen = [law.result_ for law in laws], planned, {}
        self.curves = {}
        for law in laws:
            fit = law.result_
            _, design, pred = law.curve(planned)
            lo, hi = (prediction_interval(law, fit.uncertainty, design, level) if fit.uncertainty is not None
                      else (pred, pred))
            rel = band_width * fit.overall.pred_e
            self.curves[fit.target] = (design.steps, pred, lo * (1 - rel), hi * (1 + rel))

    def check(self, obs: dict) -> list[Line]:
        lines = []
        for fit in self.fits:
            steps, pred, lo, hi = self.curves[fit.target]
            s, v = obs.get(fit.target, (np.zeros(0, np.int64), np.zeros(0)))
            inside = np.isin(s, steps)
            s, v = s[inside], v[inside]
            where = np.searchsorted(steps, s)
            last = self.seen.get(fit.target, -1)
            new = s > last
            outside = [(int(a), float(b), float(lo[i]), float(hi[i])) for a, b, i in zip(s[new], v[new], where[new])
                       if not lo[i] <= b <= hi[i]]
            if s.size:
                self.seen[fit.target] = int(s.max())
            j = int(np.argmax(s)) if s.size else None
            lines.append(Line(fit.target, None if j is None else int(s[j]), None if j is None else float(v[j]),
                              None if j is None else float(pred[where[j]]),
                              None if j is None else (float(lo[where[j]]), float(hi[where[j]])),
                              float(pred[-1]), (float(lo[-1]), float(hi[-1])), outside))
        return lines


def format_lines(lines: list[Line], final_step: int) -> list[str]:
    out = []
    for ln in lines:
        head = (f"{ln.target}: no evaluation yet" if ln.step is None else
                f"{ln.target}: step {ln.step} observed {ln.observed:.4f}, predicted {ln.predicted:.4f} "
                f"[{ln.band[0]:.4f}, {ln.band[1]:.4f}]")
        out.append(f"{head}; forecast at step {final_step}: {ln.final:.4f} [{ln.final_band[0]:.4f}, {ln.final_band[1]:.4f}]")
        for step, v, lo, hi in ln.outside:
            out.append(f"  warning: {ln.target} at step {step}: observed {v:.4f} is outside the predicted band "
                       f"[{lo:.4f}, {hi:.4f}]: a divergence, a data problem, or a law that no longer holds")
    return out


def watch(log: str | Path, laws: list, planned: Run, every: float = 60.0, updates: int | None = None,
          run: str | None = None, kind: str = "auto", emit=print, sleep=time.sleep) -> int:
    """Follow ``log`` until Ctrl-C (or ``updates`` reports); returns the number of reports made."""
    log = Path(log)
    fc = Forecaster(laws, planned)
    targets = [law.result_.target for law in laws]
    final_step = int(planned.steps[-1])
    reports, last_size, failed_at = 0, None, None
    try:
        while updates is None or reports < updates:
            if not log.exists():
                raise DataError(f"{log}: the log is gone (deleted or moved while watched)")
            size = log.stat().st_size
            if size != last_size:
                try:
                    obs = observations(log, targets, run, kind, planned)
                except DataError as exc:
                    # caught mid-write (a partial last line) reads well once the writer goes on; a log that stays
                    # unreadable while it does not change is bad input
                    if not log.exists() or failed_at == size:
                        raise
                    failed_at = size
                    emit(f"(the log is being written: {str(exc).splitlines()[0][:200]}; reading again in {every:g} s)")
                else:
                    last = max((int(st.max()) for st, _ in obs.values() if st.size), default=None)
                    if last is not None and last > final_step:
                        raise DataError(f"{log}: the log has reached step {last}, past the end of the planned run "
                                        f"(step {final_step}); give the run's planned number of steps (--steps)")
                    last_size, failed_at = size, None
                    reports += 1
                    for line in format_lines(fc.check(obs), final_step):
                        emit(line)
            if updates is None or reports < updates:
                sleep(every)
    except KeyboardInterrupt:
        emit("stopped (Ctrl-C); the log was only read")
    return reports
