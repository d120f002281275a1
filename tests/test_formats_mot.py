"""MOTChallenge export/import: exact rows, ignore regions, seqinfo.ini, 1-based frames."""

from __future__ import annotations

import configparser

import pytest

from vidlabel.errors import FormatError, VidlabelError
from vidlabel.formats import export_projects, import_annotations
from vidlabel.formats.common import ExportOptions, ImportOptions

from .conftest import SAMPLE, SAMPLE_GT
from .formats_data import assert_same_boxes, rich_project


def rows(text: str) -> list[tuple[float, ...]]:
    return sorted(tuple(float(v) for v in line.split(",")) for line in text.splitlines() if line)


def test_sample_gt_survives_import_and_export(tmp_path):
    with import_annotations(SAMPLE, SAMPLE_GT, tmp_path / "p.vlp", "mot") as p:
        assert p.class_names() == ["person"]
        assert len(p.ignore_regions()) == 61  # the conf-0 rows
        assert all(b.verified and b.source.value == "human" for b in p.boxes())
        export_projects([p], "mot", tmp_path / "gt.txt")
    assert rows((tmp_path / "gt.txt").read_text()) == rows(SAMPLE_GT.read_text())


def test_round_trip_keeps_what_mot_carries(tmp_path):
    with rich_project(tmp_path / "a.vlp") as a:
        export_projects([a], "mot", tmp_path / "seq")
        with import_annotations(SAMPLE, tmp_path / "seq", tmp_path / "b.vlp", "mot",
                                ImportOptions(classes=["person", "car"])) as b:
            assert_same_boxes(a, b, fields="mot")
            export_projects([b], "mot", tmp_path / "seq2")
    assert (tmp_path / "seq" / "gt" / "gt.txt").read_text() == (tmp_path / "seq2" / "gt" / "gt.txt").read_text()
    info = configparser.ConfigParser()
    info.optionxform = str
    info.read(tmp_path / "seq" / "seqinfo.ini")
    assert dict(info["Sequence"]) | {"frameRate": "-"} == {   # no images written: no imDir
        "name": "sample", "frameRate": "-", "seqLength": "80", "imWidth": "768", "imHeight": "576"}
    text = (tmp_path / "seq" / "gt" / "gt.txt").read_text()
    assert "3,3,-3.25,10.25,30,61.75,1,1,0\n" in text  # frame 2 (0-based), occluded -> visibility 0
    assert "3,3,400,100,20.5,50,0,1,1\n" in text       # the ignore region: conf 0


def test_write_frames_inside_the_sequence_makes_img1(tmp_path):
    with rich_project(tmp_path / "a.vlp") as a:
        export_projects([a], "mot", tmp_path / "seq",
                        ExportOptions(frames="verified", write_frames=tmp_path / "seq" / "img1"))
    assert sorted(p.name for p in (tmp_path / "seq" / "img1").iterdir()) == ["000002.jpg", "000005.jpg"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_mot15_rows_and_anonymous_detections(tmp_path):
    gt = tmp_path / "det.txt"
    gt.write_text("1,-1,10,20,30,40,0.9,-1,-1,-1\n1,-1,50,20,30,40,0.4,-1,-1,-1\n2,4,10,20,30,40,1,-1,-1,-1\n")
    with import_annotations(SAMPLE, gt, tmp_path / "p.vlp", "mot", ImportOptions(as_prelabels=True)) as p:
        assert p.class_names() == ["person"]
        assert [(b.frame, b.track_id, b.confidence) for b in p.boxes()] == [(0, 5, 0.9), (0, 6, 0.4), (1, 4, 1.0)]
        assert not any(b.verified for b in p.boxes())


def test_mot_class_numbers_get_motchallenge_names(tmp_path):
    gt = tmp_path / "gt.txt"
    gt.write_text("1,1,10,20,30,40,1,3,1\n1,2,10,20,30,40,1,1,0.25\n")
    with import_annotations(SAMPLE, gt, tmp_path / "p.vlp", "mot") as p:
        assert p.class_names() == ["person", "person on vehicle", "car"]
        assert [(b.class_id, b.occluded) for b in p.boxes()] == [(2, False), (0, True)]
    with pytest.raises(FormatError, match="class 3 has no project class"):
        import_annotations(SAMPLE, gt, tmp_path / "q.vlp", "mot", ImportOptions(classes=["person"]))


def test_seqinfo_that_disagrees_with_the_video_is_refused(tmp_path):
    seq = tmp_path / "seq"
    (seq / "gt").mkdir(parents=True)
    (seq / "gt" / "gt.txt").write_text("1,1,10,20,30,40,1,1,1\n")
    (seq / "seqinfo.ini").write_text("[Sequence]\nname=x\nseqLength=795\nimWidth=768\nimHeight=576\n")
    with pytest.raises(FormatError, match="seqLength=795 but the video sample.mp4 has 80") as err:
        import_annotations(SAMPLE, seq, tmp_path / "p.vlp", "mot")
    assert "seqinfo.ini" in str(err.value) and not (tmp_path / "p.vlp").exists()


def test_one_sequence_per_mot_export(tmp_path):
    with rich_project(tmp_path / "a.vlp") as a, rich_project(tmp_path / "b.vlp") as b:
        with pytest.raises(VidlabelError, match="one sequence"):
            export_projects([a, b], "mot", tmp_path / "gt.txt")


def test_existing_output_folder_is_not_merged_into(tmp_path):
    (tmp_path / "seq").mkdir()
    (tmp_path / "seq" / "old.txt").write_text("keep me")
    with rich_project(tmp_path / "a.vlp") as a:
        with pytest.raises(VidlabelError, match="output exists; pass --overwrite"):
            export_projects([a], "mot", tmp_path / "seq")
        assert (tmp_path / "seq" / "old.txt").read_text() == "keep me"
        export_projects([a], "mot", tmp_path / "seq", ExportOptions(overwrite=True))
    assert sorted(p.name for p in (tmp_path / "seq").iterdir()) == ["gt", "seqinfo.ini"]   # replaced whole
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("fmt, out", [("coco", "d.json"), ("mot", "gt.txt"), ("yolo", "ds")])
def test_every_format_refuses_an_existing_output_unless_told(tmp_path, fmt, out):
    """One rule (COCO used to overwrite silently while YOLO refused)."""
    target = tmp_path / out
    if fmt == "yolo":
        target.mkdir()
        (target / "x").write_text("old")
    else:
        target.write_text("old")
    with rich_project(tmp_path / "a.vlp") as a:
        with pytest.raises(VidlabelError, match="--overwrite"):
            export_projects([a], fmt, target)
        assert (target / "x" if fmt == "yolo" else target).read_text() == "old"
        summary = export_projects([a], fmt, target, ExportOptions(overwrite=True))
    assert summary.boxes > 0 and summary.verified + summary.unverified == summary.boxes


def test_exports_get_ordinary_permissions(tmp_path):
    """Temporary files are private; the renamed export must be as readable as any file."""
    import os
    import stat

    mask = os.umask(0o022)
    try:
        with rich_project(tmp_path / "a.vlp") as a:
            export_projects([a], "mot", tmp_path / "gt.txt")
            export_projects([a], "mot", tmp_path / "seq")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "gt.txt").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "seq").stat().st_mode) == 0o755
