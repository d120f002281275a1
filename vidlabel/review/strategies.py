"""Review-queue strategies: which frames (or boxes) a person should look at next.

Pool-based active learning over the frames of one video: a strategy ranks the unverified frames
of a `Pool` (the scorer's current signals) and `select` returns the next `k` as `Pick`s, or, in
streaming mode (`threshold=`), every frame scoring at least the threshold in frame order, the way
a streaming sampler decides frame by frame. Each strategy is one small class registered by name
in `STRATEGIES`; `unit="box"` ranks single boxes instead of frames where a strategy has a
per-box score ("check track 7 here").

| name | ranks by |
|---|---|
| `random` | a seeded shuffle (the baseline every other strategy must beat) |
| `stride` | evenly spaced frames over the video (uniform coverage, no model needed) |
| `least-confidence` | frame aggregate of 1 - box confidence |
| `margin` | frame aggregate of 1 - (p1 - p2) over the class distribution |
| `entropy` | frame aggregate of the normalised class entropy |
| `disagreement` | detector-tracker 1 - IoU, tracks without detections, detections without tracks |
| `mixed` | MIXED_SHARES of k: a medium-confidence band, the lowest, the highest, random |
| `committee` | disagreement between two detector passes (a second model, run lazily and cached) |
| `hybrid` | (default) the combined uncertainty score (all signals, noisy-OR) with temporal diversity |

Pure lowest-confidence sampling is a bias trap: the bottom of the ranking is full of junk
detections, so `mixed` spends only part of the batch there. Neighbouring frames are near
duplicates, so `hybrid` never picks two frames within `window` frames of each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ..datamodel import ACCEPT_THRESHOLD
from ..errors import StrategyError
from .reasons import box_reasons
from .signals import (
    DEFAULT_WEIGHTS,
    BoxScore,
    FrameState,
    aggregate,
    class_distribution,
    entropy_signal,
    margin_signal,
)

# mixed: share of k per part; rounded by largest remainder, a part short of candidates leaves its
# places to the random part.
MIXED_SHARES: dict[str, float] = {"band": 0.5, "lowest": 0.15, "highest": 0.15, "random": 0.2}
MIXED_BAND = (0.3, 0.6)       # "medium confidence": where accept/reject decisions are made
DEFAULT_WINDOW = 15           # frames; half a second at 30 fps, neighbouring frames look alike


@dataclass(frozen=True)
class Pick:
    """One item of the review queue: a frame (or one box on it) and why it was chosen."""

    frame: int
    score: float
    reasons: tuple[str, ...]
    track_id: int | None = None
    box_id: int | None = None
    flagged_track: int | None = None   # a frame pick's most uncertain box's track: look there first
    crops: tuple[int, ...] = ()        # a track pick (track_id's boxes on these frames), see track_review.py
    # "delete all similar": (track, crop frames) of tracks the learned model thinks false, one
    # decision for all (track_review.similar_false); track_id is the first of them
    group: tuple[tuple[int, tuple[int, ...]], ...] = ()

    def flagged(self, pool: "Pool") -> "Pick":
        """This pick with `flagged_track` set from the frame's scores (box picks name theirs)."""
        state = pool.frames.get(self.frame)
        if self.track_id is not None or state is None or not state.boxes:
            return replace(self, flagged_track=self.track_id)
        worst = max(state.boxes, key=lambda b: b.score)
        return replace(self, flagged_track=worst.track_id if worst.score > 0 else None)


@dataclass
class Pool:
    """What a strategy chooses from: the unverified frames' current signals."""

    frames: Mapping[int, FrameState]           # unverified frames only
    frame_count: int
    how: str = "max"
    accept_threshold: float = ACCEPT_THRESHOLD
    # (frames, second model or None) -> {frame: (score, reasons)} of two-detector disagreement,
    # computed on demand (committee)
    committee: Callable[[list[int], str | None], dict[int, tuple[float, list[str]]]] | None = None
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    # () -> [(value, P(false), track, crop frames)], best first (track_review.rank_tracks), on demand
    tracks: Callable[[], list[tuple[float, float, int, tuple[int, ...]]]] | None = None


class Strategy:
    """Base: rank everything, then take the top k (or stream above a threshold)."""

    name = ""
    box_level = False   # True: the strategy can rank single boxes (`unit="box"`)

    def __init__(self, aggregate: str | None = None, unit: str = "frame", window: int = 0,
                 seed: int = 0) -> None:
        if unit not in ("frame", "box"):
            raise StrategyError(f"unit must be 'frame' or 'box', got {unit!r}")
        if unit == "box" and not self.box_level:
            raise StrategyError(f"strategy {self.name!r} ranks frames only (unit='box' not available)")
        if window < 0:
            raise StrategyError(f"window must be >= 0, got {window}")
        if aggregate not in (None, "max", "sum", "mean"):
            raise StrategyError(f"aggregate must be max, sum or mean, got {aggregate!r}")
        self.aggregate, self.unit, self.window, self.seed = aggregate, unit, window, seed

    # -- what subclasses provide ----------------------------------------------------------------
    def box_value(self, box: BoxScore) -> float:
        """This strategy's score of one unverified box (box-level strategies)."""
        raise NotImplementedError

    def frame_value(self, state: FrameState, pool: Pool) -> float:
        return aggregate([self.box_value(b) for b in state.boxes if not b.verified],
                         self.aggregate or pool.how)

    def explain(self, state: FrameState, pool: Pool) -> tuple[str, ...]:
        return tuple(state.reasons)

    def explain_box(self, box: BoxScore) -> tuple[str, ...]:
        return tuple(box_reasons(box, 3, at_least=0.05))

    def ranked(self, pool: Pool) -> Iterator[Pick]:
        """Every candidate, best first (ties by frame, then box), each `Pick` made only when
        reached: a batch of 25 from 30,000 frames explains 25 frames, not 30,000."""
        if self.unit == "box":
            boxes = [b for s in pool.frames.values() for b in s.boxes if not b.verified]
            values = [self.box_value(b) for b in boxes]
            keys = ([b.box_id or 0 for b in boxes], [b.frame for b in boxes])
        else:
            frames = list(pool.frames.items())
            values = [self.frame_value(s, pool) for _, s in frames]
            keys = ([f for f, _ in frames],)
        for i in np.lexsort(keys + (-np.asarray(values, dtype=float),)):
            if self.unit == "box":
                b = boxes[i]
                yield Pick(b.frame, values[i], self.explain_box(b), b.track_id, b.box_id)
            else:
                f, state = frames[i]
                yield Pick(f, values[i], self.explain(state, pool))

    # -- selection ------------------------------------------------------------------------------
    def select(self, pool: Pool, k: int | None = 10, threshold: float | None = None) -> list[Pick]:
        if k is None and threshold is None:
            raise StrategyError("give k (a batch size) or threshold (streaming mode)")
        if k is not None and k < 0:
            raise StrategyError(f"k must be >= 0, got {k}")
        ranked = self.ranked(pool)
        if threshold is not None:
            ranked = (p for p in ranked if p.score >= threshold)
        picks = self._diverse(ranked, k)
        if threshold is not None:
            picks.sort(key=lambda p: (p.frame, p.box_id or 0))  # a stream arrives in frame order
        return picks

    def _diverse(self, ranked: Iterable[Pick], k: int | None) -> list[Pick]:
        """Greedy: take the best, skip what lies within `window` frames of a pick (per track for boxes)."""
        out: list[Pick] = []
        for p in ranked:
            if k is not None and len(out) >= k:
                break
            if self.window and any(abs(p.frame - q.frame) < self.window
                                   and (self.unit == "frame" or q.track_id == p.track_id) for q in out):
                continue
            out.append(p)
        return out


class RandomStrategy(Strategy):
    name = "random"

    def ranked(self, pool: Pool) -> Iterator[Pick]:
        frames = sorted(pool.frames)
        order = np.random.default_rng(self.seed).permutation(len(frames))
        n = max(len(frames), 1)
        return (Pick(frames[i], 1.0 - rank / n, ("random sample",)) for rank, i in enumerate(order))


class StrideStrategy(Strategy):
    """Uniform coverage: the frames nearest an even grid over the unverified frames."""

    name = "stride"

    def select(self, pool: Pool, k: int | None = 10, threshold: float | None = None) -> list[Pick]:
        if k is None:
            raise StrategyError("stride spaces k frames evenly; it has no streaming mode")
        if k < 0:
            raise StrategyError(f"k must be >= 0, got {k}")
        frames = sorted(pool.frames)
        n = len(frames)
        positions = range(n) if k >= n else sorted({int((i + 0.5) * n / k) for i in range(k)})
        step = pool.frame_count / max(k, 1)
        return [Pick(frames[i], 1.0, (f"uniform sample (every ~{step:.0f} frames)",)) for i in positions]


class _SignalStrategy(Strategy):
    signal = ""
    box_level = True

    def box_value(self, box: BoxScore) -> float:
        return float(box.signals.get(self.signal, 0.0))

    def explain(self, state: FrameState, pool: Pool) -> tuple[str, ...]:
        boxes = [b for b in state.boxes if not b.verified]
        if not boxes:
            return tuple(state.reasons)
        worst = max(boxes, key=self.box_value)
        return (f"{self.signal.replace('_', ' ')} {self.box_value(worst):.2f} on track "
                f"{worst.track_id}",) + tuple(state.reasons)

    def explain_box(self, box: BoxScore) -> tuple[str, ...]:
        return (f"{self.signal.replace('_', ' ')} {self.box_value(box):.2f}",) + super().explain_box(box)


class LeastConfidenceStrategy(_SignalStrategy):
    name, signal = "least-confidence", "least_confidence"


class MarginStrategy(_SignalStrategy):
    name, signal = "margin", "margin"

    def box_value(self, box: BoxScore) -> float:  # boxes without a detection: confidence alone
        return float(box.signals.get("margin", margin_signal(class_distribution(box.confidence, None))))


class EntropyStrategy(_SignalStrategy):
    name, signal = "entropy", "entropy"

    def box_value(self, box: BoxScore) -> float:
        return float(box.signals.get("entropy", entropy_signal(class_distribution(box.confidence, None))))


class DisagreementStrategy(_SignalStrategy):
    """Where detector and tracker disagree: 1 - IoU, tracks without detection, detections without track."""

    name, signal = "disagreement", "disagreement"

    def box_value(self, box: BoxScore) -> float:
        return float(max(box.signals.get("disagreement", 0.0), box.signals.get("no_detection", 0.0)))

    def frame_value(self, state: FrameState, pool: Pool) -> float:
        values = [self.box_value(b) for b in state.boxes if not b.verified]
        values += [s.value for s in state.extra if s.name == "unmatched_detection"]
        return aggregate(values, self.aggregate or pool.how)


class MixedStrategy(Strategy):
    """MIXED_SHARES of k from a medium-confidence band, the lowest, the highest, and at random.

    A frame's confidence is the mean confidence of its unverified boxes; frames without any are
    only drawn in the random part. Each pick's first reason names its part.
    """

    name = "mixed"

    def __init__(self, band: tuple[float, float] = MIXED_BAND, shares: Mapping[str, float] | None = None,
                 **kw) -> None:
        super().__init__(**kw)
        self.band = band
        self.shares = dict(shares or MIXED_SHARES)
        if set(self.shares) != set(MIXED_SHARES) or abs(sum(self.shares.values()) - 1) > 1e-9:
            raise StrategyError(f"mixed shares must give {sorted(MIXED_SHARES)} summing to 1")

    def counts(self, k: int) -> dict[str, int]:
        """How many picks each part gets out of k (largest remainder, ties in MIXED_SHARES order)."""
        raw = {p: k * s for p, s in self.shares.items()}
        counts = {p: int(v) for p, v in raw.items()}
        for p in sorted(raw, key=lambda p: -(raw[p] - counts[p]))[: k - sum(counts.values())]:
            counts[p] += 1
        return counts

    def select(self, pool: Pool, k: int | None = 10, threshold: float | None = None) -> list[Pick]:
        if k is None or threshold is not None:
            raise StrategyError("mixed draws fixed shares of a batch of k; it has no streaming mode")
        conf = {f: float(np.mean([b.confidence for b in s.boxes if not b.verified]))
                for f, s in pool.frames.items() if any(not b.verified for b in s.boxes)}
        lo, hi = self.band
        mid = (lo + hi) / 2
        parts = {
            "band": sorted((f for f, c in conf.items() if lo <= c <= hi), key=lambda f: (abs(conf[f] - mid), f)),
            "lowest": sorted(conf, key=lambda f: (conf[f], f)),
            "highest": sorted(conf, key=lambda f: (-conf[f], f)),
        }
        label = {"band": f"medium confidence band {lo:.1f}-{hi:.1f}", "lowest": "among the lowest confidence",
                 "highest": "among the highest confidence", "random": "random share"}
        counts, taken, out = self.counts(k), set(), []
        for part in ("band", "lowest", "highest"):
            chosen = [f for f in parts[part] if f not in taken][: counts[part]]
            counts["random"] += counts[part] - len(chosen)
            taken.update(chosen)
            out += [Pick(f, 1.0 - conf[f] if part != "highest" else conf[f],
                         (label[part], f"mean confidence {conf[f]:.2f}") + tuple(pool.frames[f].reasons))
                    for f in chosen]
        rest = [f for f in sorted(pool.frames) if f not in taken]
        rng = np.random.default_rng(self.seed)
        for i in rng.permutation(len(rest))[: counts["random"]]:
            f = rest[i]
            out.append(Pick(f, pool.frames[f].score, (label["random"],) + tuple(pool.frames[f].reasons)))
        return out


class CommitteeStrategy(Strategy):
    """Query by committee with two detector passes; the second pass is computed lazily by the pool."""

    name = "committee"

    def __init__(self, model: str | None = None, **kw) -> None:
        super().__init__(**kw)
        self.model = model  # the second member; None: vidlabel.review.committee picks one

    def ranked(self, pool: Pool) -> Iterator[Pick]:
        if pool.committee is None:
            raise StrategyError("committee needs a second detector pass; this pool has none")
        scores = pool.committee(sorted(pool.frames), self.model)
        return iter(sorted((Pick(f, s, tuple(r) + tuple(pool.frames[f].reasons))
                            for f, (s, r) in scores.items()), key=lambda p: (-p.score, p.frame)))


class HybridStrategy(Strategy):
    """The default: the combined uncertainty score (every signal, including detector-tracker
    disagreement and distance from checked frames), with no two picks within `window` frames."""

    name = "hybrid"
    box_level = True

    def __init__(self, window: int = DEFAULT_WINDOW, **kw) -> None:
        super().__init__(window=window, **kw)

    def box_value(self, box: BoxScore) -> float:
        return box.score

    def frame_value(self, state: FrameState, pool: Pool) -> float:
        if self.aggregate is None or self.aggregate == pool.how:
            return state.score
        values = [b.score for b in state.boxes if not b.verified]
        values += [pool.weights[s.name] * s.value for s in state.extra]
        return aggregate(values, self.aggregate)


class TracksFirstStrategy(HybridStrategy):
    """Tracks more likely false than not first, as track picks (a few crops, one decision for
    the whole track: track_review.py), then hybrid's frames. "More likely than not" is the
    threshold a person deciding by expected errors would use; P(false) is learned from verdicts."""

    name = "tracks-first"

    def select(self, pool: Pool, k: int | None = 10, threshold: float | None = None) -> list[Pick]:
        ranked = pool.tracks() if pool.tracks is not None and self.unit == "frame" else []
        picks = [Pick(crops[0], p, (f"track {t}: P(false) {p:.2f} over {len(crops)} crops",), t, None, t, crops)
                 for _, p, t, crops in ranked if p > 0.5][:k]
        rest = None if k is None else k - len(picks)
        return picks + (super().select(pool, rest, threshold) if rest is None or rest > 0 else [])


def queue(strategy: Strategy, pool: Pool, k: int | None,
          candidates: Sequence[tuple[float, float, int, tuple[int, ...]]] = (),
          threshold: float | None = None,
          similar: Sequence[tuple[int, tuple[int, ...]]] = ()) -> list[Pick]:
    """The review queue: the tracks like those the person deleted, as one "delete all similar"
    pick (`similar` from track_review.similar_false), then candidate tracks, as track picks
    (`candidates` from track_review.rank_candidates), then the strategy's picks. A candidate is
    invisible to every frame and box score (its boxes are not shown on frames), and asking about
    it costs only its crops, so every strategy asks these questions first; the group asks about
    many tracks for two crops each, so it comes before them. A batch opens each frame once: a
    candidate whose first crop is on a frame already in the batch waits for the next one (a
    client that answers every pick as a frame would otherwise review that frame twice)."""
    first: list[Pick] = []
    grouped = {t for t, _ in similar}
    if similar and (k is None or k > 0):
        first.append(Pick(similar[0][1][0], 1.0, (f"{len(similar)} tracks like the ones deleted: delete all, "
                                                  "or keep those on a wanted object",),
                          similar[0][0], group=tuple(similar)))
    for _, p, t, crops in candidates:
        if t in grouped:
            continue
        if k is not None and len(first) >= k:
            break
        if all(crops[0] != q.frame for q in first):
            first.append(Pick(crops[0], p, (f"candidate track {t}, the detector was unsure of it "
                                            f"(P(real) {p:.2f}): accept its box to keep it, or "
                                            "delete the track",), t, None, t, crops))
    rest = None if k is None else k - len(first)
    picks = first + [q for q in (strategy.select(pool, rest, threshold) if rest is None or rest > 0 else [])
                     if q.track_id not in grouped and (q.track_id is not None or all(q.frame != c.frame for c in first))]
    return [p.flagged(pool) for p in picks]


STRATEGIES: dict[str, type[Strategy]] = {cls.name: cls for cls in (
    RandomStrategy, StrideStrategy, LeastConfidenceStrategy, MarginStrategy, EntropyStrategy,
    DisagreementStrategy, MixedStrategy, CommitteeStrategy, HybridStrategy, TracksFirstStrategy)}


def make_strategy(name: str, **params) -> Strategy:
    """A strategy by name with its parameters; one clear error for a wrong name or parameter."""
    cls = STRATEGIES.get(name)
    if cls is None:
        raise StrategyError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    try:
        return cls(**params)
    except TypeError as exc:
        raise StrategyError(f"strategy {name!r}: {exc}") from None
