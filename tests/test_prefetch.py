"""Frames decoded before they are asked for (vidlabel/prefetch.py): exact, in the reader's own
cache, and what was wanted for a place the person left is dropped."""

from __future__ import annotations

import numpy as np

from vidlabel.prefetch import Prefetcher
from vidlabel.video import FrameSource, VideoFile, open_video

from .conftest import SAMPLE


def test_wanted_frames_land_exactly_in_the_reader_s_cache():
    with VideoFile(SAMPLE) as fresh:
        expected = {f: fresh.frame(f).copy() for f in (5, 41, 77)}
    with open_video(SAMPLE) as video:
        prefetcher = Prefetcher(video)
        try:
            assert not video.cached(41)
            prefetcher.want([41, 77, 5])
            assert prefetcher.idle()
            assert all(video.cached(f) for f in expected)
            assert all(np.array_equal(video.frame(f), image) for f, image in expected.items())
            assert prefetcher.decoded == 3 and prefetcher.seconds > 0
        finally:
            prefetcher.close()


def test_a_new_want_drops_the_old_one():
    with open_video(SAMPLE) as video:
        prefetcher = Prefetcher(video)
        try:
            prefetcher.want(range(0, 80, 3))
            prefetcher.want([60])       # the person jumped: only this one matters now
            assert prefetcher.idle()
            assert video.cached(60)
            assert prefetcher.decoded < 27, "the old list was decoded to its end"
            prefetcher.want([-1, 10_000])   # outside the video: ignored
            assert prefetcher.idle()
        finally:
            prefetcher.close()


def test_a_source_without_a_second_reader_is_not_prefetched():
    class Plain(FrameSource):
        frame_count = 10

    prefetcher = Prefetcher(Plain())
    prefetcher.want([1, 2])
    assert prefetcher.idle() and prefetcher.decoded == 0
    prefetcher.close()
