"""`vidlabel import` and `vidlabel export` as a user runs them."""

from __future__ import annotations

import json

from vidlabel.cli import main
from vidlabel.store.project import Project

from .conftest import SAMPLE, SAMPLE_GT


def test_import_then_export_every_format(tmp_path, capsys):
    project = tmp_path / "s.vlp"
    assert main(["import", str(SAMPLE), "--format", "mot", "--gt", str(SAMPLE_GT), "-o", str(project)]) == 0
    assert "imported 499 boxes in 8 tracks, 61 ignore regions, classes person" in capsys.readouterr().out
    assert main(["info", str(project)]) == 0
    assert "ignore regions   61" in capsys.readouterr().out
    assert main(["export", str(project), "--format", "coco", "-o", str(tmp_path / "s.json"),
                 "--frames", "annotated", "--every", "10", "--write-frames", str(tmp_path / "frames")]) == 0
    data = json.loads((tmp_path / "s.json").read_text())
    assert [i["frame_index"] for i in data["images"]] == list(range(0, 80, 10))
    assert len(list((tmp_path / "frames").iterdir())) == 8
    assert main(["export", str(project), "--format", "mot", "-o", str(tmp_path / "seq")]) == 0
    assert (tmp_path / "seq" / "gt" / "gt.txt").is_file() and (tmp_path / "seq" / "seqinfo.ini").is_file()
    assert main(["export", str(project), "--format", "yolo", "-o", str(tmp_path / "ds"),
                 "--val-fraction", "0.25", "--chunks", "4"]) == 0
    assert len(list((tmp_path / "ds" / "images" / "val").iterdir())) == 20


def test_prelabel_import_is_a_machine_action(tmp_path, capsys):
    project = tmp_path / "s.vlp"
    assert main(["import", str(SAMPLE), "--format", "mot", "--gt", str(SAMPLE_GT), "-o", str(project),
                 "--as-prelabels", "--classes", "Person"]) == 0
    with Project.open(project, readonly=True) as p:
        assert p.class_names() == ["Person"]
        assert p.actions()[-1].actor == "machine"
        assert not any(b.verified for b in p.boxes())


def test_export_errors_are_one_line(tmp_path, capsys):
    assert main(["export", str(tmp_path / "missing.vlp"), "--format", "coco", "-o", str(tmp_path / "x.json")]) == 2
    assert "project file does not exist" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing.vlp"), "--format", "yolo", "-o", str(tmp_path / "x"),
                 "--every", "0"]) == 2
    assert "--every must be >= 1" in capsys.readouterr().err


def test_yolo_refuses_write_frames(tmp_path, capsys):
    project = tmp_path / "s.vlp"
    assert main(["import", str(SAMPLE), "--format", "mot", "--gt", str(SAMPLE_GT), "-o", str(project)]) == 0
    assert main(["export", str(project), "--format", "yolo", "-o", str(tmp_path / "ds"),
                 "--write-frames", str(tmp_path / "f")]) == 2
    assert "--write-frames is for COCO and MOT" in capsys.readouterr().err
    assert not (tmp_path / "ds").exists() and not (tmp_path / "f").exists()


def test_exports_leave_candidate_tracks_out_unless_asked(tmp_path, capsys):
    project = tmp_path / "s.vlp"
    assert main(["import", str(SAMPLE), "--format", "mot", "--gt", str(SAMPLE_GT), "-o", str(project),
                 "--as-prelabels"]) == 0
    with Project.open(project) as p:
        track = p.tracks()[0].id
        with p.action("prelabel", "machine"):
            p._conn.execute("UPDATE tracks SET candidate = 1 WHERE id = ?", (track,))
        candidate_boxes = len(p.boxes(track_id=track, include_outside=False))
    capsys.readouterr()
    assert main(["export", str(project), "--format", "mot", "-o", str(tmp_path / "a.txt")]) == 0
    assert "1 unconfirmed candidate tracks left out (--include-candidates writes them)" in capsys.readouterr().out
    assert main(["export", str(project), "--format", "mot", "-o", str(tmp_path / "b.txt"),
                 "--include-candidates"]) == 0
    rows = {name: (tmp_path / name).read_text().splitlines() for name in ("a.txt", "b.txt")}
    assert len(rows["b.txt"]) - len(rows["a.txt"]) == candidate_boxes > 0
    assert not any(int(r.split(",")[1]) == track for r in rows["a.txt"])
