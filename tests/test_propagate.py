"""Propagation: one-direction runs, blended runs between keyframes, interpolation, snapping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidlabel.datamodel import Box, Detection, Source, iou_xywh
from vidlabel.errors import VidlabelError
from vidlabel.propagation.propagate import (
    INTERPOLATED_CONFIDENCE,
    PropagatedBox,
    interpolate,
    propagate,
    track_between,
)
from vidlabel.propagation.trackers import available_trackers
from vidlabel.video import FrameSource, open_video

from .conftest import SAMPLE, SAMPLE_GT
from .scenes import arc, scene, scene_video, straight

# The default tracker; deterministic (MIL samples with a time-seeded RNG, so its runs differ from call to
# call); every tracker is covered by test_trackers.py.
TRACKER = "csrt"
pytestmark = pytest.mark.skipif(not available_trackers()["csrt"], reason="CSRT needs opencv-contrib")


def key(frame: int, xywh, track: int = 1, **kw) -> Box:
    return Box(frame, track, 0, *xywh, **kw)


def mean_iou(boxes: list[PropagatedBox], truth) -> float:
    return float(np.mean([iou_xywh(b.xywh, truth[b.frame]) for b in boxes]))


@pytest.fixture(scope="module")
def straight_clip(tmp_path_factory):
    frames, truth = scene(30, straight, swap_from=20)
    return scene_video(tmp_path_factory.mktemp("straight"), "straight", frames), truth


@pytest.fixture(scope="module")
def sample_gt() -> dict[int, dict[int, tuple[float, float, float, float]]]:
    """Visible GT boxes of the sample clip as {track: {0-based frame: xywh}} (conf-0 rows dropped)."""
    rows = np.loadtxt(SAMPLE_GT, delimiter=",", ndmin=2)
    out: dict[int, dict[int, tuple]] = {}
    for r in rows[rows[:, 6] != 0]:
        out.setdefault(int(r[1]), {})[int(r[0]) - 1] = tuple(float(v) for v in r[2:6])
    return out


def test_propagate_follows_the_object_and_stops_where_it_is_replaced(straight_clip):
    video, truth = straight_clip
    boxes = propagate(video, key(0, truth[0]), range(1, 30), tracker=TRACKER)
    assert [b.frame for b in boxes] == list(range(1, len(boxes) + 1))
    assert 16 <= len(boxes) < 20, "must run to the swap at frame 20 and stop there"
    assert all(b.source is Source.TRACKER for b in boxes)
    assert mean_iou(boxes, truth) >= 0.7


def test_propagate_runs_backward_too(straight_clip):
    video, truth = straight_clip
    boxes = propagate(video, key(19, truth[19]), range(18, -1, -1), tracker=TRACKER)
    assert [b.frame for b in boxes] == list(range(18, -1, -1))
    assert mean_iou(boxes, truth) >= 0.7


def test_propagate_rejects_frames_in_both_directions(straight_clip):
    video, truth = straight_clip
    with pytest.raises(VidlabelError, match="strictly"):
        propagate(video, key(10, truth[10]), [11, 9], tracker=TRACKER)
    with pytest.raises(VidlabelError, match="outside"):
        propagate(video, key(10, truth[10], outside=True), [11], tracker=TRACKER)
    with pytest.raises(VidlabelError, match="unknown tracker"):
        propagate(video, key(10, truth[10]), [], tracker="nope")


def test_interpolate_is_linear_strictly_between_keyframes():
    boxes = interpolate(key(10, (0, 0, 10, 20)), key(14, (40, 8, 30, 20)))
    assert [b.frame for b in boxes] == [11, 12, 13]
    assert boxes[1].xywh == pytest.approx((20, 4, 20, 20))
    assert all(b.source is Source.INTERPOLATED and b.confidence == INTERPOLATED_CONFIDENCE for b in boxes)
    with pytest.raises(VidlabelError):
        interpolate(key(14, (0, 0, 10, 10)), key(10, (0, 0, 10, 10)))


def test_track_between_beats_interpolation_on_curved_motion(tmp_path):
    frames, truth = scene(21, arc)
    video = scene_video(tmp_path, "arc", frames)
    start, end = key(0, truth[0]), key(20, truth[20])
    between = track_between(video, start, end, tracker=TRACKER)
    linear = interpolate(start, end)
    assert [b.frame for b in between] == list(range(1, 20))
    assert mean_iou(between, truth) >= 0.7
    assert mean_iou(between, truth) > mean_iou(linear, truth) + 0.2


def test_track_between_on_the_sample_clip_matches_ground_truth(sample_gt):
    """Keyframes 20 frames apart on real pedestrians: boxes close to GT on the frames between."""
    video = open_video(SAMPLE)
    ious, spans = [], 0
    for track, boxes in sorted(sample_gt.items()):
        for s in sorted(boxes)[::20]:
            e = s + 20
            if not all(f in boxes for f in range(s, e + 1)):
                continue
            result = track_between(video, key(s, boxes[s], track), key(e, boxes[e], track))
            assert [b.frame for b in result] == list(range(s + 1, e))
            ious += [iou_xywh(b.xywh, boxes[b.frame]) for b in result]
            spans += 1
    assert spans >= 10
    assert np.mean(ious) >= 0.65
    assert np.mean(np.asarray(ious) >= 0.5) >= 0.75


def test_track_between_interpolates_where_both_runs_collapse(tmp_path):
    frames, truth = scene(30, straight, cover_from=10, cover_until=20)
    video = scene_video(tmp_path, "covered", frames)
    boxes = track_between(video, key(0, truth[0]), key(29, truth[29]), tracker=TRACKER)
    assert [b.frame for b in boxes] == list(range(1, 29))
    sources = {b.frame: b.source for b in boxes}
    visible = [f for f in range(1, 29) if not 10 <= f < 20]
    # Trackers dip on single frames (those are interpolated too); the visible stretch is tracked.
    assert np.mean([sources[f] is Source.TRACKER for f in visible]) >= 0.75
    assert all(sources[f] is Source.INTERPOLATED for f in range(11, 20))
    covered = [b for b in boxes if 11 <= b.frame < 20]
    assert all(b.confidence == INTERPOLATED_CONFIDENCE for b in covered)
    assert mean_iou(covered, truth) >= 0.7  # straight motion: interpolation is right here


def test_track_between_with_one_keyframe_runs_up_to_max_span(straight_clip):
    video, truth = straight_clip
    forward = track_between(video, key(2, truth[2]), None, tracker=TRACKER, max_span=6)
    assert [b.frame for b in forward] == list(range(3, 9))
    backward = track_between(video, None, key(10, truth[10]), tracker=TRACKER, max_span=50)
    assert [b.frame for b in backward] == list(range(0, 10))
    assert mean_iou(forward + backward, truth) >= 0.7


def test_an_outside_keyframe_bounds_the_run_without_being_tracked_from(straight_clip):
    video, truth = straight_clip
    boxes = track_between(video, key(2, truth[2]), key(7, (0, 0, 0, 0), outside=True), tracker=TRACKER)
    assert [b.frame for b in boxes] == [3, 4, 5, 6]
    assert track_between(video, key(2, truth[2], outside=True), key(7, truth[7], outside=True)) == []


def test_snapping_uses_a_well_overlapping_detection_only(straight_clip):
    video, truth = straight_clip
    x, y, w, h = truth[5]
    near = Detection(5, x + 2, y + 1, w, h, confidence=0.61, class_id=0)
    far = Detection(6, x + 100, y, w, h, confidence=0.99, class_id=0)
    boxes = track_between(video, key(2, truth[2]), key(9, truth[9]), tracker=TRACKER,
                          snap={5: [far, near], 6: [far]})
    by_frame = {b.frame: b for b in boxes}
    assert by_frame[5].source is Source.DETECTOR
    assert by_frame[5].xywh == near.xywh and by_frame[5].confidence == pytest.approx(0.61)
    assert by_frame[6].source is Source.TRACKER


def test_adjacent_keyframes_have_nothing_between(straight_clip):
    video, truth = straight_clip
    assert track_between(video, key(3, truth[3]), key(4, truth[4])) == []
    assert interpolate(key(3, truth[3]), key(4, truth[4])) == []


def test_track_between_rejects_inconsistent_keyframes(straight_clip):
    video, truth = straight_clip
    with pytest.raises(VidlabelError, match="not before"):
        track_between(video, key(9, truth[9]), key(3, truth[3]))
    with pytest.raises(VidlabelError, match="different tracks"):
        track_between(video, key(3, truth[3], track=1), key(9, truth[9], track=2))
    with pytest.raises(VidlabelError, match="start or an end"):
        track_between(video, None, None)


class ChangingColours(FrameSource):
    """Frames of one flat colour each, a different one on every frame.

    Nothing on a later frame looks like a tracker's start box (their colours differ), so every
    tracker step scores confidence 0 and is never trusted: only `guide` detections carry a run,
    which lets a test script exactly how each of `track_between`'s two runs goes and ends.
    """

    def __init__(self, frame_count: int, width: int = 240, height: int = 120) -> None:
        self.path, self.fps = Path("changing-colours"), 10.0
        self.frame_count, self.width, self.height = frame_count, width, height

    def frame(self, index: int) -> np.ndarray:
        self._check_index(index)
        colour = (32 * (index % 8) + 16, 32 * (index // 8 % 8) + 16, 128)  # one histogram bin each
        return np.full((self.height, self.width, 3), colour, np.uint8)


def guide_of(*chains: dict[int, tuple]) -> dict[int, list[Detection]]:
    """Detections on each frame from chains of {frame: xywh}."""
    out: dict[int, list[Detection]] = {}
    for chain in chains:
        for f, xywh in chain.items():
            out.setdefault(f, []).append(Detection(f, *xywh, confidence=0.9, class_id=0))
    return out


def test_a_run_arriving_on_the_other_keyframe_is_corrected_to_pass_through_it():
    # The forward run is carried by detections 4.6 px a frame and arrives 4 px short of the end
    # keyframe; the backward run finds nothing that continues it and collapses at once. The
    # arrived run alone is used, its arrival error spread linearly: 5 px a frame, through both.
    start, end = key(0, (10, 40, 20, 40)), key(10, (60, 40, 20, 40))
    guide = guide_of({f: (10 + 4.6 * f, 40, 20, 40) for f in range(1, 11)})
    boxes = track_between(ChangingColours(11), start, end, tracker=TRACKER, guide=guide)
    assert [b.frame for b in boxes] == list(range(1, 10))
    for b in boxes:
        assert b.xywh == pytest.approx((10 + 5.0 * b.frame, 40, 20, 40)), b
    assert all(b.source is Source.DETECTOR for b in boxes)


def test_a_run_arriving_elsewhere_is_kept_only_where_the_other_run_confirms_it():
    # Two people cross at frame 4, where the detector sees one box: A walks right, B walks left
    # from behind A, and the end keyframe is on B (a linking error). The forward run follows A
    # and arrives confidently on the wrong person (it missed); the backward run follows B back
    # to the crossing and collapses there (nothing continues it). Only the crossing confirms
    # the forward run; before it nothing is trusted, and the stretch is interpolated.
    a = {f: (100 + 12.0 * (f - 4), 40, 40, 40) for f in range(1, 11)}
    b = {f: (100 - 12.0 * (f - 4), 40, 40, 40) for f in range(5, 11)}
    start, end = key(0, (52, 40, 40, 40)), key(10, b[10])
    boxes = track_between(ChangingColours(11), start, end, tracker=TRACKER, guide=guide_of(a, b))
    by_frame = {box.frame: box for box in boxes}
    assert sorted(by_frame) == list(range(1, 10))
    for f in (1, 2, 3):  # the missed run's own boxes, unconfirmed: not trusted
        assert by_frame[f].source is Source.INTERPOLATED and by_frame[f].confidence == INTERPOLATED_CONFIDENCE
    assert by_frame[4].source is Source.TRACKER  # confirmed: both runs' boxes, blended
    for f in range(5, 10):  # the collapsed run's trusted boxes before its collapse are kept
        assert by_frame[f].source is Source.DETECTOR
        assert iou_xywh(by_frame[f].xywh, b[f]) >= 0.75 > 0.25 >= iou_xywh(by_frame[f].xywh, a[f])


class CountingFrames:
    """A frame source that records which frames were decoded."""

    def __init__(self, video) -> None:
        self.video, self.read = video, []
        self.frame_count, self.width, self.height = video.frame_count, video.width, video.height

    def frame(self, index: int):
        self.read.append(index)
        return self.video.frame(index)


def test_guided_run_takes_continuing_detections_and_tracks_only_the_gap(straight_clip):
    video, truth = straight_clip
    dets = {f: [Detection(f, truth[f][0] + 1, truth[f][1], *truth[f][2:], confidence=0.3, class_id=0)]
            for f in [*range(1, 10), *range(13, 20)]}
    frames = CountingFrames(video)
    boxes = propagate(frames, key(0, truth[0]), range(1, 20), tracker=TRACKER, guide=dets)
    by_frame = {b.frame: b for b in boxes}
    assert sorted(by_frame) == list(range(1, 20))
    for f, (d,) in dets.items():
        assert by_frame[f].source is Source.DETECTOR and by_frame[f].xywh == d.xywh
        assert by_frame[f].confidence == pytest.approx(0.3)  # weak, yet it does not stop the run
    assert {by_frame[f].source for f in (10, 11, 12)} == {Source.TRACKER}
    # Only the gap is decoded: the tracker starts on the last detection (frame 9) and runs 10-12.
    assert frames.read == [9, 10, 11, 12]


def test_guidance_ignores_far_detections_and_leaves_ambiguous_frames_to_the_tracker(straight_clip):
    video, truth = straight_clip
    x, y, w, h = truth[3]
    far = Detection(2, truth[2][0] + 100, truth[2][1], w, h, confidence=0.9, class_id=0)
    crossing = [Detection(3, x, y, w, h, confidence=0.9, class_id=0),
                Detection(3, x + w * 0.3, y, w, h, confidence=0.9, class_id=0)]
    boxes = propagate(video, key(0, truth[0]), range(1, 5), tracker=TRACKER,
                      guide={2: [far], 3: crossing})
    assert [b.source for b in boxes] == [Source.TRACKER] * 4
    assert iou_xywh(boxes[1].xywh, truth[2]) >= 0.5


def test_repair_rewrites_only_until_the_run_rejoins_the_track(straight_clip):
    """A fix whose neighbours already follow the object changes a few frames, not max_span."""
    from vidlabel.propagation.repair import REJOIN_FRAMES, repair

    video, truth = straight_clip
    existing = {f: key(f, truth[f]) for f in range(0, 20)}
    existing[20] = key(20, truth[19], outside=True)  # the machine ended the track here
    bad = {f: key(f, (truth[f][0] + 12, *truth[f][1:])) for f in (9, 11)}  # drifted around the fix
    fixed = key(10, truth[10], verified=True)
    boxes = repair(video, fixed, None, {**existing, **bad}, tracker=TRACKER, max_span=50)
    frames = [b.frame for b in boxes]
    assert 11 in frames and max(frames) < 11 + 2 * REJOIN_FRAMES
    assert 9 not in frames  # the backward run has no keyframe of its own: one-sided forward only
    assert iou_xywh({b.frame: b for b in boxes}[11].xywh, truth[11]) >= 0.7
    # Without existing boxes (a newly drawn track) the run goes on, here up to the swap at 20.
    assert max(b.frame for b in repair(video, fixed, None, {}, tracker=TRACKER, max_span=50)) >= 16


def test_a_track_carried_past_its_keyframe_stops_where_another_track_has_its_object():
    """Propagating a box drawn on frame 10 forward: on frame 14 another track already boxes the
    same object, so the carried track ends at frame 13 instead of doubling it from there."""
    from vidlabel.datamodel import Box, Source
    from vidlabel.propagation.propagate import PropagatedBox
    from vidlabel.propagation.scheduler import _until_taken

    carried = [PropagatedBox(f, (100.0 + f, 50.0, 30.0, 60.0), 0.5, Source.TRACKER) for f in range(11, 20)]
    other = {f: [Box(f, 9, 0, 101.0 + f, 50.0, 30.0, 60.0)] for f in range(14, 30)}
    assert [b.frame for b in _until_taken(carried, other, backward=False)] == [11, 12, 13]
    assert [b.frame for b in _until_taken(carried, other, backward=True)] == []   # 19 is taken
    assert len(_until_taken(carried, {}, backward=False)) == 9
