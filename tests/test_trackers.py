"""Single-object trackers: each follows a moving object, and its confidence falls when it drifts."""

from __future__ import annotations

import numpy as np
import pytest

from vidlabel import weights
from vidlabel.datamodel import iou_xywh
from vidlabel.errors import VidlabelError
from vidlabel.propagation.propagate import DEFAULT_MIN_CONFIDENCE
from vidlabel.propagation.trackers import (
    available_trackers,
    create_tracker,
    resolve_tracker_name,
)

from .scenes import scene, straight

HAVE = available_trackers()
CLASSIC = ("csrt", "kcf", "mil")


def tracker_or_skip(name: str):
    if name == "nano" and weights.find_nanotrack() is None:
        pytest.skip(f"NanoTrack ONNX pair ({', '.join(weights.NANOTRACK_FILES)}) not found in "
                    f"{[str(d) for d in weights.search_dirs()]}")
    if not HAVE[name]:
        pytest.skip(f"tracker {name} is not in this OpenCV build (needs opencv-contrib)")
    return create_tracker(name)


def run(tracker, frames, start_box):
    tracker.init(frames[0], start_box)
    return [tracker.update(f) for f in frames[1:]]


def test_available_trackers_names_every_kind():
    assert set(HAVE) == {"csrt", "kcf", "mil", "nano", "vit"}
    assert HAVE["mil"], "MIL ships with every OpenCV build"
    assert HAVE["nano"] == (weights.find_nanotrack() is not None)
    assert HAVE["vit"] == (weights.find_vittrack() is not None)


def test_auto_prefers_csrt_when_the_contrib_build_has_it():
    expected = "csrt" if HAVE["csrt"] else "nano" if HAVE["nano"] else "kcf" if HAVE["kcf"] else "mil"
    assert resolve_tracker_name("auto") == expected == create_tracker().name


def test_unknown_tracker_is_a_clear_error_listing_the_available_ones():
    with pytest.raises(VidlabelError) as err:
        create_tracker("medianflow")
    message = str(err.value)
    assert "medianflow" in message
    for name, ok in HAVE.items():
        assert (name in message.split("available:")[1]) == ok


@pytest.mark.skipif(HAVE["vit"], reason="VitTrack's ONNX model is present here")
def test_absent_vittrack_says_which_file_is_missing():
    with pytest.raises(VidlabelError, match=weights.VITTRACK_FILE):
        create_tracker("vit")


@pytest.mark.parametrize("name", ["csrt", "kcf", "nano"])
def test_tracker_follows_a_moving_object_confidently(name):
    tracker = tracker_or_skip(name)
    frames, truth = scene(30, straight)
    steps = run(tracker, frames, truth[0])
    for i, (xywh, confidence) in enumerate(steps, start=1):
        assert xywh is not None, f"{name} lost the object at frame {i}"
        assert iou_xywh(xywh, truth[i]) >= 0.5, f"{name} frame {i}: {xywh} vs {truth[i]}"
        assert 0.0 <= confidence <= 1.0
        assert confidence >= DEFAULT_MIN_CONFIDENCE, f"{name} frame {i}: confidence {confidence:.2f}"


def holds(name: str, check) -> None:
    """Deterministic trackers must pass `check` once. MIL samples its patches with a clock-seeded
    RNG, so it is not reproducible by design and an unlucky sample fails a single run now and
    then (about 1 in 40 here, seen in CI): for MIL the property must hold on most of five
    independent runs, so the test fails when MIL is wrong, not when one sample is unlucky."""
    runs = 5 if name == "mil" else 1
    failures = []
    for _ in range(runs):
        try:
            check(tracker_or_skip(name))
        except AssertionError as exc:
            failures.append(exc)
    if len(failures) > runs // 2:
        raise failures[0]


def test_mil_stays_on_a_moving_object_or_says_it_is_unsure():
    """What propagation relies on from MIL: a box is either on the object or carries a confidence
    low enough to stop there, and most steps are confidently right."""
    frames, truth = scene(30, straight)

    def check(tracker):
        steps = run(tracker, frames, truth[0])
        confident_hits = 0
        for i, (xywh, confidence) in enumerate(steps, start=1):
            assert xywh is not None, f"mil lost the object at frame {i}"
            iou = iou_xywh(xywh, truth[i])
            assert iou >= 0.4 or confidence < DEFAULT_MIN_CONFIDENCE, \
                f"mil frame {i}: {xywh} vs {truth[i]} (IoU {iou:.2f}) at confidence {confidence:.2f}"
            confident_hits += iou >= 0.5 and confidence >= DEFAULT_MIN_CONFIDENCE
        assert confident_hits >= len(steps) / 2, f"mil was confidently on the object on {confident_hits}"

    holds("mil", check)


@pytest.mark.parametrize("name", [*CLASSIC, "nano"])
def test_confidence_collapses_when_the_object_is_replaced(name):
    """The tracker may happily follow the new pattern; the confidence must not trust it."""
    frames, truth = scene(30, straight, swap_from=15)

    def check(tracker):
        steps = run(tracker, frames, truth[0])
        before = [c for _, c in steps[:13]]
        after = [c for _, c in steps[14:]]
        # MIL may slip off the square before the swap, and its confidence rightly drops then
        assert (np.median(before) if name == "mil" else min(before)) >= DEFAULT_MIN_CONFIDENCE
        assert max(after) < DEFAULT_MIN_CONFIDENCE, f"{name} trusted a different object: {after}"

    holds(name, check)


@pytest.mark.parametrize("name", [*CLASSIC, "nano"])
def test_confidence_collapses_under_occlusion(name):
    frames, truth = scene(24, straight, cover_from=12)

    def check(tracker):
        steps = run(tracker, frames, truth[0])
        before = [c for _, c in steps[:10]]
        assert (np.median(before) if name == "mil" else min(before)) >= DEFAULT_MIN_CONFIDENCE
        assert max(c for _, c in steps[11:]) < DEFAULT_MIN_CONFIDENCE

    holds(name, check)


def test_a_box_outside_the_frame_cannot_start_a_tracker():
    frames, _ = scene(2, straight)
    tracker = create_tracker("mil")
    with pytest.raises(VidlabelError, match="nothing to track"):
        tracker.init(frames[0], (1000.0, 1000.0, 20.0, 20.0))
