"""Remembered tracker runs (propagation/memo.py): read back exactly what a fresh run computes."""

from __future__ import annotations

import pytest

from vidlabel.datamodel import Box, Source
from vidlabel.propagation.memo import MEMO, REPRODUCIBLE, TrackerRun, memo_disabled
from vidlabel.propagation.propagate import propagate, track_between
from vidlabel.propagation.trackers import available_trackers, create_tracker
from vidlabel.video import open_video

from .conftest import SAMPLE

HAVE = available_trackers()
WALKER = (380.0, 178.0, 28.7, 77.8)   # sample_gt.txt, object 9 on frame 1 (0-based 0)


@pytest.fixture()
def video():
    MEMO.clear()
    with open_video(SAMPLE) as v:
        yield v
    MEMO.clear()


def fresh(video, name: str, frames: list[int]) -> list:
    tracker = create_tracker(name)
    tracker.init(video.frame(0), WALKER)
    return [tracker.update(video.frame(f)) for f in frames]


def remembered(video, name: str, frames: list[int]) -> list:
    run = TrackerRun(video, name, 0, WALKER)
    try:
        return [run.update(f) for f in frames]
    finally:
        run.close()


@pytest.mark.parametrize("name", sorted(REPRODUCIBLE))
def test_a_reproducible_tracker_gives_the_same_run_twice(video, name):
    if not HAVE[name]:
        pytest.skip(f"tracker {name} is not available here")
    frames = list(range(1, 16))
    assert fresh(video, name, frames) == fresh(video, name, frames)


def test_a_longer_run_reads_the_remembered_start_and_goes_on_from_the_kept_tracker(video):
    name = "csrt" if HAVE["csrt"] else "kcf"
    short = remembered(video, name, list(range(1, 11)))
    misses = MEMO.misses
    long = remembered(video, name, list(range(1, 21)))
    assert long == fresh(video, name, list(range(1, 21)))
    assert long[:10] == short
    assert MEMO.misses - misses == 10, "only the ten new frames are tracked"


def test_a_run_without_its_kept_tracker_is_fed_the_remembered_frames_again(video):
    name = "csrt" if HAVE["csrt"] else "kcf"
    remembered(video, name, list(range(1, 6)))
    run = TrackerRun(video, name, 0, WALKER)
    other = TrackerRun(video, name, 0, WALKER)
    steps = [run.update(f) for f in range(1, 6)]
    other_steps = [other.update(f) for f in range(1, 9)]   # takes the kept tracker
    steps += [run.update(f) for f in range(6, 9)]          # must rebuild its own
    run.close()
    other.close()
    assert steps == other_steps == fresh(video, name, list(range(1, 9)))


def test_a_run_fed_other_frames_leaves_the_remembered_one_and_is_still_exact(video):
    name = "csrt" if HAVE["csrt"] else "kcf"
    remembered(video, name, list(range(1, 9)))
    skipping = [1, 2, 3, 5, 7, 9]
    assert remembered(video, name, skipping) == fresh(video, name, skipping)
    assert remembered(video, name, list(range(1, 9))) == fresh(video, name, list(range(1, 9)))


def test_mil_is_never_remembered(video):
    misses = MEMO.misses
    remembered(video, "mil", [1, 2, 3])
    remembered(video, "mil", [1, 2, 3])
    assert MEMO.misses - misses == 6


def test_propagation_and_blending_equal_their_fresh_runs(video):
    start = Box(0, 1, 0, *WALKER, source=Source.HUMAN, verified=True)
    end = Box(30, 1, 0, 392.0, 176.0, 28.0, 78.0, source=Source.HUMAN, verified=True)
    with memo_disabled():
        want_run = propagate(video, start, range(1, 25))
        want_between = track_between(video, start, end)
    for _ in range(2):   # computed, then read back
        assert propagate(video, start, range(1, 25)) == want_run
        assert track_between(video, start, end) == want_between
    assert MEMO.hits > 0


def test_a_run_cancelled_while_its_tracker_is_built_leaves_no_half_built_tracker(video):
    """A re-propagation job is cancelled by a frame read that raises (scheduler.py): the tracker
    it was starting must not be kept for the next run."""
    name = "csrt" if HAVE["csrt"] else "kcf"

    class Cancelled(Exception):
        pass

    class Cancelling:
        path, frame_count, width, height = video.path, video.frame_count, video.width, video.height

        def __init__(self, reads: int) -> None:
            self.reads = reads

        def fingerprint(self) -> str:
            return video.fingerprint()

        def frame(self, index: int):
            self.reads -= 1
            if self.reads < 0:
                raise Cancelled()
            return video.frame(index)

    source = Cancelling(reads=0)      # the init frame's read is cancelled
    run = TrackerRun(source, name, 0, WALKER)
    with pytest.raises(Cancelled):
        run.update(1)
    run.close()
    assert remembered(video, name, [1, 2, 3]) == fresh(video, name, [1, 2, 3])
