"""From replayed runs to the figures a practitioner decides with: JSON, a markdown table, PNG
learning curves, and one recommended strategy and batch size.

Normalisation: a strategy's ALC is normalised with `A_random`, the mean area of the `random`
strategy at the same batch size (over seeds), so "beats random" reads as ALC > 0 at every batch
size. The recommendation is the strategy and batch size with the largest raw area under the
learning curve: raw areas share one x-axis (8 s to the fully manual cost), so they compare across
batch sizes, where normalised values (each against its own random) would not. Baselines, which
have no batch size, are normalised against random at the recommended batch size.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..review.effort import CONVENTIONAL, TimeModel
from .curves import CurvePoint, area, mean_actions, mean_curve, normalised_alc, seconds_to


@dataclass
class RunRecord:
    """One replay of a strategy (with its batch size and seed) or of a baseline (batch None)."""

    name: str
    kind: str                   # "strategy" or "baseline"
    batch: int | None
    seed: int
    points: list[CurvePoint]
    dropped_at: float | None = None   # successive halving stopped it at this many human seconds

    def xy(self, time_model: TimeModel | None = None) -> list[tuple[float, float]]:
        return [(time_model.seconds(p.actions) if time_model else p.seconds, p.quality)
                for p in self.points]


def _mean_or_none(values: list[float | None]) -> float | None:
    return None if not values or any(v is None for v in values) else float(np.mean(values))


def _calibration(points: list[CurvePoint]) -> dict:
    """How well the session's own estimate followed the true quality: the mean absolute gap over
    the curve, where `stopping()` first said stop ({seconds, estimated, true quality}), and the
    points themselves ([seconds, estimated, true quality], for the calibration plot)."""
    pairs = [(p.estimated, p.quality) for p in points if p.estimated is not None]
    stop = next((p for p in points if p.stop), None)
    return {"calibration_mae": float(np.mean([abs(e - q) for e, q in pairs])) if pairs else None,
            "estimates": [[round(p.seconds, 2), round(p.estimated, 5), round(p.quality, 5)]
                          for p in points if p.estimated is not None],
            "stop": None if stop is None else {"seconds": stop.seconds, "estimated_quality": stop.estimated,
                                               "true_quality": stop.quality}}


def _entry(runs: list[RunRecord], random_area: float, max_seconds: float) -> dict:
    """One name at one batch size, averaged over seeds (per-seed values kept under `seeds`)."""
    per_seed = []
    for r in runs:
        xy, final = r.xy(), r.points[-1]
        per_seed.append({
            "seed": r.seed,
            "alc": normalised_alc(xy, random_area, max_seconds),
            "area": area(xy, max_seconds),
            "seconds_to_95": seconds_to(xy, 0.95),
            "seconds_to_99": seconds_to(xy, 0.99),
            "seconds_to_99_conventional": seconds_to(r.xy(CONVENTIONAL), 0.99),
            "final_quality": final.quality, "final_recall_50": final.recall_50,
            "final_recall_70": final.recall_70, "final_precision_50": final.precision_50,
            "final_id_switches": final.id_switches, "final_seconds": final.seconds,
            "actions": dict(final.actions),
            **_calibration(r.points),
        })
    out = {k: (_mean_or_none([s[k] for s in per_seed]) if k.startswith("seconds_to") or k == "calibration_mae"
               else float(np.mean([s[k] for s in per_seed])))
           for k in per_seed[0] if k not in ("seed", "actions", "stop", "estimates")}
    out["stop"] = per_seed[0]["stop"]   # the first seed's
    out["estimates"] = per_seed[0]["estimates"]
    out["actions"] = mean_actions([s["actions"] for s in per_seed])
    out["curve"] = [[round(s, 2), round(q, 5)] for s, q in mean_curve([r.xy() for r in runs])]
    out["batch"] = runs[0].batch
    out["seeds"] = per_seed
    return out


def summarise(records: list[RunRecord], max_seconds: float, meta: dict | None = None) -> dict:
    """The JSON document: `results.<name>` at the recommended batch, `by_batch`, `recommendation`."""
    groups: dict[tuple[str, int | None], list[RunRecord]] = defaultdict(list)
    for r in records:
        groups[(r.name, r.batch)].append(r)
    random_area = {b: float(np.mean([area(r.xy(), max_seconds) for r in rs]))
                   for (n, b), rs in groups.items() if n == "random"}
    strategy_keys = [k for k, rs in groups.items() if rs[0].kind == "strategy"]
    if not strategy_keys:
        raise ValueError("no strategy runs to summarise")
    missing = {b for _, b in strategy_keys} - set(random_area)
    if missing:
        raise ValueError(f"the random strategy was not run at batch sizes {sorted(missing)}")
    complete = [k for k in strategy_keys if all(r.dropped_at is None for r in groups[k])]
    raw = {k: float(np.mean([area(r.xy(), max_seconds) for r in groups[k]])) for k in complete}
    best_name, best_batch = max(complete, key=lambda k: (raw[k], -k[1]))
    by_batch: dict[str, dict] = defaultdict(dict)
    results: dict[str, dict] = {}
    for (name, batch), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        entry = _entry(rs, random_area[batch if batch is not None else best_batch], max_seconds)
        entry["kind"] = rs[0].kind
        entry["dropped_at"] = next((r.dropped_at for r in rs if r.dropped_at is not None), None)
        if batch is None or batch == best_batch:
            results[name] = entry
        if batch is not None:
            by_batch[name][str(batch)] = {k: v for k, v in entry.items() if k != "curve"}
    return {
        **(meta or {}),
        "manual_seconds": max_seconds,
        "random_area": {str(b): a for b, a in random_area.items()},
        "results": results,
        "by_batch": dict(by_batch),
        "recommendation": {"strategy": best_name, "batch": best_batch,
                           "alc": results[best_name]["alc"],
                           "seconds_to_99": results[best_name]["seconds_to_99"]},
    }


def _s(v: float | None) -> str:
    return "never" if v is None else f"{v:,.0f}"


def markdown_table(doc: dict) -> str:
    """One row per strategy (at the recommended batch) and baseline, best ALC first. A replay
    that successive halving dropped shows its figures at the drop, "-" for what it had not
    reached and for its ALC (the area of a curve cut short says nothing)."""
    head = ("| name | batch | ALC | s to 0.95 | s to 0.99 | s to 0.99 (35 s draw) | quality | "
            "R@0.5 | R@0.7 | P@0.5 | ID sw | looks | draws | fixes | deletes | ends | "
            "est. gap | stop at (est. / true) |")
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    ranked = sorted(doc["results"].items(), key=lambda kv: (kv[1].get("dropped_at") is not None, -kv[1]["alc"]))
    for name, e in ranked:
        a = e["actions"]
        dropped = e.get("dropped_at")
        s = (lambda v: "-" if v is None else _s(v)) if dropped else _s   # dropped: not reached *yet*
        rows.append(
            f"| {name}{f' (dropped at {dropped:,.0f} s)' if dropped else ''} | "
            f"{e['batch'] if e['batch'] is not None else '-'} | {'-' if dropped else format(e['alc'], '.3f')} | "
            f"{s(e['seconds_to_95'])} | {s(e['seconds_to_99'])} | "
            f"{s(e['seconds_to_99_conventional'])} | {e['final_quality']:.4f} | "
            f"{e['final_recall_50']:.4f} | {e['final_recall_70']:.4f} | "
            f"{e['final_precision_50']:.4f} | {e['final_id_switches']:.0f} | "
            + " | ".join(f"{a.get(k, 0):,.0f}" for k in ("look", "draw", "fix", "delete", "end"))
            + f" | {_gap(e)} | {_stop(e)} |")
    return "\n".join(rows)


def _gap(e: dict) -> str:
    return "" if e.get("calibration_mae") is None else f"{e['calibration_mae']:.3f}"


def _stop(e: dict) -> str:
    stop = e.get("stop")
    if stop is None:
        return "" if e.get("calibration_mae") is None else "-" if e.get("dropped_at") else "never"
    return f"{stop['seconds']:,.0f} s ({stop['estimated_quality']:.3f} / {stop['true_quality']:.3f})"


def batch_table(doc: dict) -> str:
    """Normalised ALC of every strategy at every batch size tried."""
    batches = sorted({int(b) for v in doc["by_batch"].values() for b in v})
    rows = ["| strategy | " + " | ".join(f"ALC @ {b}" for b in batches) + " |",
            "|---|" + "---|" * len(batches)]
    for name, v in sorted(doc["by_batch"].items()):
        rows.append(f"| {name} | " + " | ".join(_batch_cell(v.get(str(b))) for b in batches) + " |")
    return "\n".join(rows)


def _batch_cell(e: dict | None) -> str:
    if e is None:
        return "-"
    return f"dropped at {e['dropped_at']:,.0f} s" if e.get("dropped_at") else f"{e['alc']:.3f}"


def recommendation_line(doc: dict) -> str:
    rec = doc["recommendation"]
    reached = ("quality 0.99 not reached within the budget" if rec["seconds_to_99"] is None
               else f"quality 0.99 after {rec['seconds_to_99']:,.0f} s")
    schedule = doc.get("schedule") or {}
    how = ("every replay run to its end" if schedule.get("exhaustive", True) else
           f"successive halving at {', '.join(f'{r:,.0f}' for r in schedule['rungs'][:-1])} s")
    return (f"recommended: strategy {rec['strategy']} with batch size {rec['batch']} "
            f"(normalised ALC {rec['alc']:.3f}; {reached}; fully manual "
            f"{doc['manual_seconds']:,.0f} s; {how})")


def plot(doc: dict, out_dir: Path) -> list[Path]:
    """Learning curves as a PNG: every strategy at the recommended batch size, and the baselines."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manual = doc["manual_seconds"]
    written = []
    # Left: everything from quality 0 (fully manual starts there). Right: the same curves zoomed
    # on the strategies' range, where they differ by a few points that the full scale hides.
    fig, axes = plt.subplots(1, 2, figsize=(14, 5.5))
    strategies = [q for e in doc["results"].values() if e["kind"] == "strategy" for _, q in e["curve"]]
    low = max(0.0, min(strategies, default=0.0) - 0.01)
    for ax, ylim in zip(axes, ((0, 1.01), (low, 1.002))):
        ax.set_prop_cycle(color=plt.cm.tab20.colors)  # up to 20 distinct curves
        for name, e in sorted(doc["results"].items(), key=lambda kv: -kv[1]["alc"]):
            xs = [max(s, 8.0) for s, _ in e["curve"]]
            ys = [q for _, q in e["curve"]]
            style = "-" if e["kind"] == "strategy" else "--"
            label = f"{name}" + (f" (k={e['batch']})" if e["batch"] is not None else "")
            ax.plot(xs, ys, style, label=f"{label}  ALC {e['alc']:.2f}", linewidth=1.4)
        ax.set_xscale("log", base=2)
        ax.set_xlim(8, manual)
        ax.set_ylim(*ylim)
        ax.axhline(0.99, color="grey", linewidth=0.6, linestyle=":")
        ax.set_xlabel("human seconds (log2; 8 s to the fully manual cost)")
        ax.set_ylabel("quality (F1 at IoU 0.5, with identity)")
    rec = doc["recommendation"]
    axes[0].set_title(f"Learning curves (strategies at batch {rec['batch']}; dashed: baselines)")
    axes[1].set_title(f"zoomed on quality {low:.2f}-1")
    axes[0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    path = out_dir / "learning_curves.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)
    calibrated = {n: e for n, e in doc["results"].items() if e.get("estimates")}
    if calibrated:
        written.append(_plot_calibration(calibrated, out_dir / "calibration.png"))
    return written


def _plot_calibration(results: dict, path: Path) -> Path:
    """The session's estimated quality (dashed) against the true quality (solid) after every
    batch, one colour per strategy, and where `stopping()` said stop (a dot)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(14, 5.5))
    low = max(0.0, min(min(est, q) for e in results.values() for _, est, q in e["estimates"]) - 0.02)
    for ax, ylim in zip(axes, ((low, 1.002), (0.95, 1.002))):
        for i, (name, e) in enumerate(sorted(results.items())):
            colour = plt.cm.tab10.colors[i % 10]
            seconds, estimated, true = zip(*e["estimates"])
            ax.plot(seconds, true, "-", color=colour, linewidth=1.4, label=f"{name}: true")
            ax.plot(seconds, estimated, "--", color=colour, linewidth=1.4,
                    label=f"{name}: estimated (mean gap {e['calibration_mae']:.3f})")
            if e.get("stop"):
                ax.plot([e["stop"]["seconds"]], [e["stop"]["estimated_quality"]], "o", color=colour)
        ax.axhline(0.99, color="grey", linewidth=0.6, linestyle=":")
        ax.set_ylim(*ylim)
        ax.set_xlabel("human seconds")
        ax.set_ylabel("quality (F1 at IoU 0.5, with identity)")
    axes[0].set_title("The session's estimate against the truth after every batch (dot: stop at 0.99)")
    axes[1].set_title("zoomed on quality 0.95-1")
    axes[0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_json(doc: dict, path: Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(doc, indent=1, allow_nan=False))

