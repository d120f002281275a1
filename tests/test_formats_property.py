"""Property: any well-formed annotation set survives export and import (COCO exactly, MOT in what
the format carries)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vidlabel.datamodel import Box, IgnoreRegion, Source
from vidlabel.formats import export_projects, import_annotations
from vidlabel.formats.common import ImportOptions
from vidlabel.store.files import create_project

from .conftest import encode_clip, synthetic_frames
from .formats_data import assert_same_boxes

FRAMES = 12
CLASSES = ["a", "b", "c"]

coords = st.floats(-100, 300, allow_nan=False, allow_infinity=False)
sizes = st.floats(0.001, 400, allow_nan=False, allow_infinity=False)


@st.composite
def boxes(draw) -> list[Box]:
    keys = draw(st.sets(st.tuples(st.integers(0, 30), st.integers(0, FRAMES - 1)), max_size=25))
    out = []
    for track, frame in sorted(keys):
        outside = draw(st.booleans()) and draw(st.booleans())
        geometry = (0.0, 0.0, 0.0, 0.0) if outside else (draw(coords), draw(coords), draw(sizes), draw(sizes))
        out.append(Box(frame, track, draw(st.integers(0, 2)), *geometry,
                       draw(st.floats(0, 1, allow_nan=False)), draw(st.sampled_from(list(Source))),
                       draw(st.booleans()), outside, draw(st.booleans())))
    return out


regions = st.lists(st.builds(IgnoreRegion, st.integers(0, FRAMES - 1), st.integers(0, 2), coords, coords,
                             sizes, sizes, st.one_of(st.none(), st.integers(0, 30)), st.booleans()),
                   max_size=5)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return encode_clip(tmp_path_factory.mktemp("prop") / "clip.mp4", synthetic_frames(FRAMES, 96, 64))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(boxes=boxes(), regions=regions, verified=st.sets(st.integers(0, FRAMES - 1)))
def test_random_annotations_round_trip(clip, boxes, regions, verified):
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        project, video = create_project(clip, d / "a.vlp", CLASSES)
        video.close()
        with project:
            with project.action("draw"):
                for track in sorted({b.track_id for b in boxes}):
                    project.new_track(track_id=track)
                project.put_boxes(boxes)
                for region in sorted(regions, key=lambda r: (r.frame, -1 if r.track_id is None else r.track_id)):
                    project.add_ignore_region(region)
                for frame in verified:
                    project.set_frame_verified(frame)
            export_projects([project], "coco", d / "a.json")
            with import_annotations(clip, d / "a.json", d / "b.vlp", "coco") as back:
                assert_same_boxes(project, back)
                assert back.verified_frames() == sorted(verified)
                export_projects([back], "coco", d / "b.json")
            assert (d / "a.json").read_text() == (d / "b.json").read_text()
            export_projects([project], "mot", d / "gt.txt")
            with import_annotations(clip, d / "gt.txt", d / "c.vlp", "mot",
                                    ImportOptions(classes=CLASSES)) as back:
                assert_same_boxes(project, back, fields="mot")
