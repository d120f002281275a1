"""Review-queue strategies on constructed pools."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from vidlabel.datamodel import Detection, Source
from vidlabel.errors import StrategyError
from vidlabel.review.signals import BoxScore, FrameState
from vidlabel.review.committee import detector_disagreement
from vidlabel.review.strategies import (
    MIXED_SHARES,
    STRATEGIES,
    MixedStrategy,
    Pool,
    make_strategy,
)

from .reviewkit import THR, add_detections, add_track, make_project, scored

NAMES = ["random", "stride", "least-confidence", "margin", "entropy", "disagreement", "mixed",
         "committee", "hybrid", "tracks-first"]


def pool_of(scorer, committee=None) -> Pool:
    frames = {f: s for f, s in scorer.frames().items() if not s.verified}
    return Pool(frames, scorer.frame_count, scorer.how, scorer.accept_threshold, committee, scorer.weights)


def test_registry_has_the_contract_names():
    assert list(STRATEGIES) == NAMES
    with pytest.raises(StrategyError, match="unknown strategy 'best'"):
        make_strategy("best")
    with pytest.raises(StrategyError, match="unexpected keyword"):
        make_strategy("random", colour="red")
    with pytest.raises(StrategyError, match="frames only"):
        make_strategy("stride", unit="box")


@pytest.mark.parametrize("name", ["least-confidence", "hybrid", "margin", "entropy"])
def test_borderline_box_ranks_above_confident_ones(tmp_path, name):
    p = make_project(tmp_path, 60)
    for f in range(0, 60, 6):  # confident boxes everywhere, one borderline box on frame 30
        add_track(p, [f], confidence=0.95 if f != 30 else THR + 0.02)
    add_detections(p, {f: [(100, 100, 40, 80, 0.95 if f != 30 else THR + 0.02)] for f in range(0, 60, 6)})
    picks = make_strategy(name).select(pool_of(scored(p)), k=3)
    assert picks[0].frame == 30
    box = make_strategy(name, unit="box").select(pool_of(scored(p)), k=1)[0]
    assert (box.frame, box.box_id) == (30, p.boxes(frame=30)[0].id) and box.track_id is not None


@pytest.mark.parametrize("name", ["disagreement", "hybrid"])
def test_disagreement_ranks_a_drifted_track_first(tmp_path, name):
    p = make_project(tmp_path, 80)
    for i in range(4):  # four tracks followed well, one drifting away from its detections
        add_track(p, range(80), xywh=(50 + 120 * i, 100, 40, 80), source=Source.TRACKER, confidence=0.8)
    drift = add_track(p, range(80), xywh=(100, 300, 40, 80), source=Source.TRACKER, confidence=0.8, dx=0.5)
    dets = {f: [(50 + 120 * i, 100, 40, 80, 0.8) for i in range(4)] + [(100, 300, 40, 80, 0.8)]
            for f in range(80)}
    add_detections(p, dets)
    scorer = scored(p)
    picks = make_strategy(name).select(pool_of(scorer), k=3)
    assert picks[0].frame >= 60  # where the drift has taken the box off its detection
    assert any(f"track {drift} has no detection" in r for r in picks[0].reasons)
    partly = {f: st for f, st in scorer.frames().items() if 20 <= f < 40}
    early = make_strategy(name).select(Pool(partly, 80, weights=scorer.weights), k=1)
    assert early[0].frame == 39 and any(f"track {drift} disagrees" in r for r in early[0].reasons)


def test_diversity_never_picks_two_frames_within_the_window(tmp_path):
    p = make_project(tmp_path, 300)
    rng = np.random.default_rng(1)
    for f in range(300):
        add_track(p, [f], confidence=float(rng.uniform(0.1, 0.95)))
    pool = pool_of(scored(p))
    for window in (1, 5, 15, 40):
        picks = make_strategy("hybrid", window=window).select(pool, k=30)
        frames = sorted(p.frame for p in picks)
        assert len(frames) >= min(30, 300 // (2 * window - 1))  # greedy packs at least this many
        assert all(b - a >= window for a, b in zip(frames, frames[1:]))
    # without diversity the top frames cluster: the window is what spreads them
    clustered = make_strategy("hybrid", window=0).select(pool, k=30)
    assert any(abs(a.frame - b.frame) < 15 for a in clustered for b in clustered if a is not b)


def test_mixed_returns_its_documented_proportions(tmp_path):
    p = make_project(tmp_path, 200)
    for f, c in enumerate(np.linspace(0.05, 0.99, 200)):
        add_track(p, [f], confidence=float(c))
    strategy = make_strategy("mixed", seed=3)
    for k in (10, 20, 37):
        picks = strategy.select(pool_of(scored(p)), k=k)
        parts = Counter(pk.reasons[0].split(" ")[0] for pk in picks)
        expected = MixedStrategy().counts(k)
        assert sum(expected.values()) == k
        assert all(abs(expected[part] - k * share) < 1 for part, share in MIXED_SHARES.items())
        assert parts == {"medium": expected["band"], "among": expected["lowest"] + expected["highest"],
                         "random": expected["random"]}
        assert len({pk.frame for pk in picks}) == k
        lo, hi = strategy.band
        conf = {b.frame: b.confidence for b in p.boxes()}
        band = [pk for pk in picks if pk.reasons[0].startswith("medium")]
        assert all(lo <= conf[pk.frame] <= hi for pk in band)
        lowest = [pk for pk in picks if "lowest" in pk.reasons[0]]
        assert max(conf[pk.frame] for pk in lowest) < 0.1


def test_streaming_mode_returns_everything_above_the_threshold_in_frame_order(tmp_path):
    p = make_project(tmp_path, 50)
    for f in range(50):
        add_track(p, [f], confidence=0.2 if f % 10 == 0 else 0.95)
    pool = pool_of(scored(p))
    picks = make_strategy("least-confidence").select(pool, k=None, threshold=0.5)
    assert [pk.frame for pk in picks] == [0, 10, 20, 30, 40]
    assert make_strategy("least-confidence").select(pool, k=2, threshold=0.5)[0].frame in (0, 10, 20, 30, 40)
    with pytest.raises(StrategyError, match="no streaming"):
        make_strategy("mixed").select(pool, k=None, threshold=0.5)


def test_random_and_stride_cover_unverified_frames_only(tmp_path):
    p = make_project(tmp_path, 100)
    add_track(p, range(100))
    pool = pool_of(scored(p))
    del pool.frames[50]
    a = make_strategy("random", seed=1).select(pool, k=10)
    assert [x.frame for x in a] == [x.frame for x in make_strategy("random", seed=1).select(pool, k=10)]
    assert [x.frame for x in a] != [x.frame for x in make_strategy("random", seed=2).select(pool, k=10)]
    stride = [x.frame for x in make_strategy("stride").select(pool, k=4)]
    assert 50 not in stride and len(stride) == 4
    gaps = np.diff(stride)
    assert gaps.max() - gaps.min() <= 2 and stride[0] > 5 and stride[-1] < 94
    assert len(make_strategy("stride").select(pool, k=500)) == 99


def test_committee_ranks_frames_where_two_detector_passes_disagree():
    box = lambda f, x, c=0.8: Detection(f, x, 100, 40, 80, c, 0)
    assert detector_disagreement([box(0, 100)], [box(0, 100)], THR)[0] == 0
    assert detector_disagreement([], [], THR)[0] == 0
    assert detector_disagreement([box(0, 100)], [], THR)[0] == 1
    assert detector_disagreement([box(0, 100), box(0, 300, 0.1)], [box(0, 100)], THR)[0] == 0  # below thr: no vote
    half, _ = detector_disagreement([box(0, 100), box(0, 300)], [box(0, 100)], THR)
    assert half == pytest.approx(0.5)
    states = {f: FrameState(f, False, [BoxScore(f, f, 1, 0.9, False, {}, 0.1)]) for f in range(5)}
    committee = lambda frames, model: {f: detector_disagreement([box(f, 100)], [box(f, 100 + 10 * f)], THR)
                                for f in frames}
    picks = make_strategy("committee").select(Pool(states, 5, committee=committee), k=2)
    assert [pk.frame for pk in picks] == [4, 3] and "detectors disagree" in picks[0].reasons[0]
    with pytest.raises(StrategyError, match="second detector pass"):
        make_strategy("committee").select(Pool(states, 5), k=2)


def test_committee_without_a_first_run_or_a_second_model_is_a_strategy_error(tmp_path, monkeypatch):
    from vidlabel.errors import ModelNotFoundError
    from vidlabel.review import committee

    p = make_project(tmp_path, 10)
    with pytest.raises(StrategyError, match="no detection run"):
        committee.Committee(p, None, None)
    run = add_detections(p, {0: [(1, 1, 5, 5, 0.9)]})

    def nothing(name=None):
        raise ModelNotFoundError("none here")
    monkeypatch.setattr(committee, "resolve_detector", nothing)
    with pytest.raises(StrategyError, match="no second detector"):
        committee.Committee(p, None, run)


def test_simulate_names_a_strategy_s_unit_and_frame_aggregate():
    from vidlabel.simulation.lab import strategy_params

    assert strategy_params("hybrid") == ("hybrid", {})
    assert strategy_params("hybrid:box") == ("hybrid", {"unit": "box"})
    assert strategy_params("hybrid@mean") == ("hybrid", {"aggregate": "mean"})
    with pytest.raises(StrategyError, match="aggregate must be max, sum or mean"):
        make_strategy("hybrid", aggregate="median")
