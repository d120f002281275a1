"""Offline linking on synthetic detections: gaps, fragments, false tracks, ends, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from vidlabel.datamodel import Detection, Source
from vidlabel.prelabelling.linking import LinkParams, link
from vidlabel.propagation.propagate import PropagatedBox

FPS = 10.0


def walker(frames, x0: float, vx: float, y: float = 100.0, conf: float = 0.8, cls: int = 0,
           w: float = 30.0, h: float = 80.0) -> dict[int, Detection]:
    return {f: Detection(f, x0 + vx * f, y, w, h, conf, cls) for f in frames}


def merge(*walkers: dict[int, Detection], noise: list[Detection] = ()) -> dict[int, list[Detection]]:
    out: dict[int, list[Detection]] = {}
    for wk in walkers:
        for f, d in wk.items():
            out.setdefault(f, []).append(d)
    for d in noise:
        out.setdefault(d.frame, []).append(d)
    return out


def test_two_walkers_get_one_track_each_with_an_end_marker():
    dets = merge(walker(range(0, 40), 10, 3), walker(range(0, 30), 600, -3, y=300))
    tracks = link(dets, range(0, 50), FPS)
    assert len(tracks) == 2
    a, b = tracks
    assert (a.first, a.last, b.first, b.last) == (0, 39, 0, 29)
    assert all(s is Source.DETECTOR for s in a.sources + b.sources)
    boxes = a.to_boxes(track_id=1, end=50)
    assert boxes[-1].outside and boxes[-1].frame == 40
    assert [bx.frame for bx in boxes[:-1]] == list(range(40))
    # A track reaching the end of the range gets no outside marker past it.
    assert not a.to_boxes(track_id=1, end=40)[-1].outside


def test_missed_detections_are_interpolated_with_falling_confidence():
    frames = [f for f in range(40) if not 15 <= f < 22]  # 7 frames (0.7 s) unseen
    tracks = link(merge(walker(frames, 10, 4)), range(40), FPS)
    assert len(tracks) == 1
    t = tracks[0]
    assert t.frames == list(range(40))
    gap = {f: (b, c, s) for f, b, c, s in zip(t.frames, t.boxes, t.confidences, t.sources) if 15 <= f < 22}
    assert all(s is Source.INTERPOLATED for _, _, s in gap.values())
    assert gap[18][0][0] == pytest.approx(10 + 4 * 18)  # on the straight line
    assert gap[18][1] < gap[15][1] < 0.8  # the middle of a gap is the least sure


def test_fragments_beyond_the_online_buffer_are_merged():
    # 2.5 s unseen: longer than the online pass keeps a lost track (1 s), within the merge window.
    frames = [f for f in range(80) if not 20 <= f < 45]
    tracks = link(merge(walker(frames, 10, 3)), range(80), FPS)
    assert len(tracks) == 1 and tracks[0].frames == list(range(80))


def test_crossing_walkers_keep_their_identities():
    a, b = walker(range(60), 10, 5, y=100), walker(range(60), 310, -5, y=110)
    tracks = link(merge(a, b), range(60), FPS)
    assert len(tracks) == 2
    for t in tracks:
        xs = [bx[0] for bx in t.boxes]
        assert np.all(np.diff(xs) > 0) or np.all(np.diff(xs) < 0)  # nobody turned back


def test_weak_candidates_continue_a_track_but_never_start_one():
    strong = walker(range(0, 20), 10, 3)
    weak = walker(range(20, 30), 10, 3, conf=0.15)  # fades out: still the same object
    alone = walker(range(0, 30), 500, 0, y=400, conf=0.15)  # never confident: no track
    tracks = link(merge(strong, weak, alone), range(30), FPS)
    assert len(tracks) == 1
    assert tracks[0].last == 29
    assert tracks[0].confidences[-1] == pytest.approx(0.15)


def test_flickers_are_dropped():
    flicker = [Detection(f, 400, 400, 30, 60, 0.4, 0) for f in (5, 6)]
    tracks = link(merge(walker(range(30), 10, 3), noise=flicker), range(30), FPS)
    assert len(tracks) == 1


def test_classes_never_mix_in_a_track():
    person = walker(range(30), 10, 3, cls=0)
    car = walker(range(30), 12, 3, cls=2, w=32)  # same place, other class
    tracks = link(merge(person, car), range(30), FPS)
    assert sorted(t.class_id for t in tracks) == [0, 2]


def test_detect_every_k_fills_the_frames_between():
    frames = list(range(0, 60, 5))
    tracks = link(merge(walker(frames, 10, 2)), frames, FPS)
    assert len(tracks) == 1
    t = tracks[0]
    assert t.frames == list(range(0, 56))
    assert {s for f, s in zip(t.frames, t.sources) if f % 5} == {Source.INTERPOLATED}


def test_linking_is_deterministic():
    rng = np.random.default_rng(1)
    noise = [Detection(int(f), float(x), float(y), 25, 60, float(c), 0)
             for f, x, y, c in zip(rng.integers(0, 50, 40), rng.uniform(0, 700, 40),
                                   rng.uniform(0, 500, 40), rng.uniform(0.05, 0.6, 40))]
    dets = merge(walker(range(50), 10, 4), walker(range(10, 50), 700, -4, y=200), noise=noise)
    first = link(dets, range(50), FPS, LinkParams())
    second = link(dets, range(50), FPS, LinkParams())
    assert [(t.frames, t.boxes, t.confidences) for t in first] == \
        [(t.frames, t.boxes, t.confidences) for t in second]


def test_a_gap_filler_replaces_interpolation_and_may_snap_to_candidates():
    frames = [f for f in range(30) if not 10 <= f < 15]
    weak = Detection(12, 10 + 3 * 12, 100, 30, 80, 0.07, 0)  # below the low threshold
    seen = {}

    def filler(a, b, candidates):
        seen.update(candidates)
        out = [PropagatedBox(f, (a.x + 1, a.y, a.w, a.h), 0.5, Source.TRACKER) for f in range(a.frame + 1, b.frame)]
        out[2] = PropagatedBox(12, weak.xywh, weak.confidence, Source.DETECTOR)
        return out

    t = link(merge(walker(frames, 10, 3), noise=[weak]), range(30), FPS, gap_filler=filler)[0]
    assert sorted(seen) == [10, 11, 12, 13, 14] and seen[12] == [weak]
    assert [s.value[0] for f, s in zip(t.frames, t.sources) if 10 <= f < 15] == list("ttdtt")


def test_smoothing_removes_jitter_and_keeps_every_frame():
    rng = np.random.default_rng(5)
    truth = walker(range(60), 10, 3)
    noisy = {f: Detection(f, d.x + rng.normal(0, 3), d.y + rng.normal(0, 3), d.w, d.h + rng.normal(0, 6),
                          d.confidence, 0) for f, d in truth.items()}
    raw = link(merge(noisy), range(60), FPS, LinkParams(smooth_seconds=0))[0]
    smooth = link(merge(noisy), range(60), FPS)[0]
    assert smooth.frames == raw.frames == list(range(60))
    assert smooth.sources == raw.sources and smooth.confidences == raw.confidences

    def error(track):
        return np.mean([abs(b[1] - truth[f].y) + abs(b[3] - truth[f].h) for f, b in zip(track.frames, track.boxes)])

    assert error(smooth) < 0.6 * error(raw)


def test_a_track_shorter_than_the_smoothing_window_keeps_its_boxes():
    t = link(merge(walker(range(3), 10, 3)), range(3), 30.0)[0]  # 3 frames, window of 55 at 30 fps
    assert t.frames == [0, 1, 2] and len(t.boxes) == 3
    assert t.boxes[1][0] == pytest.approx(13, abs=1e-6)


def test_smoothing_keeps_a_straight_walk_exact_up_to_its_ends():
    t = link(merge(walker(range(40), 10, 7)), range(40), FPS)[0]
    assert np.allclose([b[0] for b in t.boxes], [10 + 7 * f for f in t.frames])


def test_a_weak_trail_of_tiny_detections_is_a_candidate_track_not_a_track():
    """A confident walker and, far away, a tiny figure the detector sees weakly on every frame
    (one confident blip): two tracks, the second a candidate, whatever its length."""
    walker_dets = walker(range(60), 10, 3)
    tiny = walker(range(60), 600, 0.5, y=40, w=10, h=24, conf=0.3)
    tiny[30] = Detection(30, tiny[30].x, 40, 10, 24, 0.7, 0)   # a confident blip starts it
    tracks = link(merge(walker_dets, tiny), range(60), FPS)
    assert len(tracks) == 2
    by_x = sorted(tracks, key=lambda t: t.boxes[0][0])
    assert [t.candidate for t in by_x] == [False, True]
    assert len(by_x[1].frames) == 60     # kept whole: a question for review, not a flicker


def test_a_second_box_of_the_same_object_is_suppressed_as_a_whole_track():
    """The detector boxes one walker twice (a looser, weaker box around the same person on every
    frame): one track, the stronger; a neighbour walking close beside stays its own track."""
    person = walker(range(40), 10, 3)
    loose = walker(range(40), 6, 3, y=95, w=38, h=90, conf=0.45)     # IoU ~0.7 with `person`
    beside = walker(range(40), 32, 3, conf=0.8)                        # IoU ~0.16: someone else
    tracks = link(merge(person, loose, beside), range(40), FPS)
    assert sorted((round(t.boxes[0][0]), round(t.boxes[0][2])) for t in tracks) == [(10, 30), (32, 30)]


def test_smoothing_does_not_reach_across_frames_a_track_has_no_box_on():
    """A track with a hole (as an imported one may have): each side of it stays a straight walk,
    instead of the boxes beside the hole being pulled towards the other side's."""
    from vidlabel.prelabelling.linking import LinkedTrack
    from vidlabel.prelabelling.smoothing import smooth_track

    frames = list(range(0, 20)) + list(range(40, 61))
    xs = [10 + 4 * f for f in range(20)] + [120 - 4 * (f - 40) for f in range(40, 61)]
    t = LinkedTrack(0, frames, [(x, 100.0, 30.0, 80.0) for x in xs], [0.8] * len(frames),
                    [Source.DETECTOR] * len(frames))
    smooth_track(t, FPS, 0.3)
    box = dict(zip(t.frames, t.boxes))
    assert t.frames == frames
    assert box[19][0] == pytest.approx(86, abs=0.5) and box[40][0] == pytest.approx(120, abs=0.5)


def test_bot_sort_benchmarked_on_vidlabel_s_detections_compensates_camera_motion():
    """The benchmark feeds Ultralytics' BoT-SORT `tracker_input`: its motion compensation reads
    the detections' corner boxes (to mask them out of the image); without them it silently fell
    back to no compensation, which flattered vidlabel on a moving camera."""
    from ultralytics.trackers.utils.gmc import GMC

    from vidlabel.prelabelling.linking import tracker_input

    batch = tracker_input([Detection(0, 10.0, 20.0, 30.0, 40.0, 0.9, 0)])
    assert batch.xyxy.tolist() == [[10.0, 20.0, 40.0, 60.0]]
    rng = np.random.default_rng(0)
    image = (rng.uniform(0, 255, (120, 160, 3))).astype(np.uint8)
    gmc = GMC("sparseOptFlow", downscale=1)
    gmc.apply(image, batch.xyxy)
    shifted = np.roll(image, 3, axis=1)   # the camera pans 3 px
    warp = gmc.apply(shifted, batch.xyxy)
    assert warp[0, 2] == pytest.approx(3.0, abs=0.5)
