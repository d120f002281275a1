"""Malformed inputs: one clear error naming the file and the entry, and nothing left behind."""

from __future__ import annotations

import json

import pytest

from vidlabel.cli import main
from vidlabel.errors import FormatError
from vidlabel.formats import import_annotations

from .conftest import SAMPLE


def coco(annotations=None, images=None, **extra) -> str:
    data = {"images": images if images is not None else
            [{"id": 1, "file_name": "a.jpg", "frame_index": 0}, {"id": 2, "file_name": "b.jpg", "frame_index": 1}],
            "categories": [{"id": 1, "name": "person"}],
            "annotations": annotations or []}
    data.update(extra)
    return json.dumps(data)


def ann(**changes) -> dict:
    return {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "area": 12,
            "iscrowd": 0, "track_id": 1} | changes


CASES = [
    ("coco", '{"images": [', "invalid JSON", ":1:"),
    ("coco", json.dumps({"annotations": [], "categories": []}), "missing or malformed 'images'", "bad.json"),
    ("coco", coco([ann(image_id=99)]), "unknown image_id 99", "annotations[0] (id 1)"),
    ("coco", coco([ann(), ann(id=2, category_id=5)]), "unknown category_id 5", "annotations[1] (id 2)"),
    ("coco", coco([ann(bbox=[1, 2, 0, 4])]), "width and height must be > 0", "annotations[0]"),
    ("coco", coco([ann(bbox=[1, 2, 3, -4])]), "width and height must be > 0", "annotations[0]"),
    ("coco", coco([ann(bbox=[float("nan"), 2, 3, 4])]), "x must be finite", "annotations[0]"),
    ("coco", coco([ann(score=float("inf"))]), "score must be finite", "annotations[0]"),
    ("coco", coco([ann(bbox=[1, 2, 3])]), "bbox must be [x, y, w, h]", "annotations[0]"),
    ("coco", coco([ann(bbox=[1, "2", 3, True])]), "must be a number", "annotations[0]"),
    ("coco", coco([ann(), ann()]), "annotation id 1 appears twice", "annotations[1]"),
    ("coco", coco([ann(), ann(id=2, bbox=[5, 5, 5, 5])]), "track 1 has two boxes on frame 0",
     "annotations[1] (id 2)"),
    ("coco", coco(images=[{"id": 1, "frame_index": 80}]), "frame 80 (0-based) is outside", "images[0] (id 1)"),
    ("coco", coco(images=[{"id": 1, "file_name": "x.jpg"}]), "no frame_index", "images[0] (id 1)"),
    ("coco", coco(images=[{"id": 1, "frame_index": 0, "width": 1920, "height": 1080}]),
     "image is 1920x1080 but the video sample.mp4 is 768x576", "images[0] (id 1)"),
    ("coco", coco([ann(provenance="magic")]), "unknown provenance 'magic'", "annotations[0]"),
    ("coco", coco(images=[{"id": 1, "frame_index": 0}, {"id": 1, "frame_index": 1}]),
     "image id 1 appears twice", "images[1] (id 1)"),
    ("coco", coco(images=[{"id": 1, "frame_index": 0}, {"id": 2, "frame_id": 0}]),
     "two images are frame 0", "images[1] (id 2)"),
    ("coco", coco(vidlabel_outside=[{"image_id": 1, "category_id": 1}]), "outside mark needs a track_id",
     "vidlabel_outside[0]"),
    ("mot", "1,1,10,20,30,40,1,1,1\n2,1,10,20,30,40\n", "row has 6 columns", "bad.txt:2"),
    ("mot", "1,1,nan,20,30,40,1,1,1\n", "x must be finite", "bad.txt:1"),
    ("mot", "1,1,10,20,0,40,1,1,1\n", "width and height must be > 0", "bad.txt:1"),
    ("mot", "0,1,10,20,30,40,1,1,1\n", "frame 0 is outside the video's 1..80", "bad.txt:1"),
    ("mot", "81,1,10,20,30,40,1,1,1\n", "frame 81 is outside the video's 1..80", "bad.txt:1"),
    ("mot", "1,1.5,10,20,30,40,1,1,1\n", "id must be an integer", "bad.txt:1"),
    ("mot", "1,1,10,20,30,40,1,0,1\n", "class number 0 must be >= 1", "bad.txt:1"),
    ("mot", "1,1,10,20,30,40,1,1,1\n\n1,1,11,20,30,40,1,1,1\n", "track 1 has two boxes on frame 0", "bad.txt:3"),
    # input bounds (#20): each used to import, run away or crash later
    ("mot", "1,1,10,20,30,40,1,100000,1\n", "beyond the 1000 classes", "bad.txt:1"),
    ("mot", f"1,{2 ** 64},10,20,30,40,1,1,1\n", "is too large", "bad.txt:1"),
    ("mot", "1,1,10,20,1e308,40,1,1,1\n", "far beyond the 768x576 image", "bad.txt:1"),
    ("coco", coco([ann(bbox=[1e308, 2, 3, 4])]), "far beyond the 768x576 image", "annotations[0]"),
    ("mot", "1,1,768,20,30,40,1,1,1\n", "lies wholly outside the 768x576 image", "bad.txt:1"),
    ("mot", "1,1,-50,20,30,40,1,1,1\n", "lies wholly outside the 768x576 image", "bad.txt:1"),
    ("coco", coco([ann(bbox=[10, 600, 30, 40])]), "lies wholly outside the 768x576 image", "annotations[0]"),
    ("coco", coco([ann(score=7.5)]), "score must be between 0 and 1", "annotations[0]"),
    ("coco", coco([ann(score=-2)]), "score must be between 0 and 1", "annotations[0]"),
]


@pytest.mark.parametrize("fmt, content, message, entry", CASES,
                         ids=[f"{c[0]}-{c[2][:28]}" for c in CASES])
def test_malformed_input_changes_nothing(tmp_path, fmt, content, message, entry):
    bad = tmp_path / ("bad.json" if fmt == "coco" else "bad.txt")
    bad.write_text(content)
    with pytest.raises(FormatError) as err:
        import_annotations(SAMPLE, bad, tmp_path / "p.vlp", fmt)
    text = str(err.value)
    assert message in text and entry in text and str(bad) in text
    assert sorted(p.name for p in tmp_path.iterdir()) == [bad.name]  # no project, no temporary


def test_cli_reports_one_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_text("1,1,10,20\n")
    code = main(["import", str(SAMPLE), "--format", "mot", "--gt", str(bad), "-o", str(tmp_path / "p.vlp")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "row has 4 columns" in err[0] and f"{bad}:1" in err[0]
    assert not (tmp_path / "p.vlp").exists()


def test_failure_while_writing_removes_the_half_made_project(tmp_path, monkeypatch):
    from vidlabel.store.project import Project

    good = tmp_path / "gt.txt"
    good.write_text("1,1,10,20,30,40,1,1,1\n")

    def broken(self, region):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Project, "put_boxes", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        import_annotations(SAMPLE, good, tmp_path / "p.vlp", "mot")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gt.txt"]


def test_a_format_name_is_registered_once():
    from vidlabel.formats import coco
    from vidlabel.formats.registry import EXPORTERS, IMPORTERS, exporter, importer

    with pytest.raises(ValueError, match="registered twice"):
        exporter("coco")(lambda videos, out, options: None)
    with pytest.raises(ValueError, match="registered twice"):
        importer("mot")(lambda path, target, classes, options: None)
    assert EXPORTERS["coco"].__module__ == coco.__name__ and set(IMPORTERS) == {"coco", "mot"}


def test_two_imports_to_the_same_new_path_make_one_project_and_one_clear_refusal(tmp_path):
    """Each used to delete the other's temporary file or replace its finished project."""
    import subprocess
    import sys

    from .conftest import ROOT, SAMPLE, SAMPLE_GT

    out = tmp_path / "p.vlp"
    cmd = [sys.executable, "-m", "vidlabel", "import", str(SAMPLE), "--format", "mot",
           "--gt", str(SAMPLE_GT), "-o", str(out)]
    for _ in range(3):
        out.unlink(missing_ok=True)
        runs = [subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        results = [(p.wait(timeout=300), p.stderr.read()) for p in runs]
        assert sorted(code for code, _ in results) == [0, 2], results
        refusal = next(err for code, err in results if code == 2)
        assert refusal.count("\n") == 1 and "already exists" in refusal
        assert sorted(p.name for p in tmp_path.iterdir()) == ["p.vlp"]   # no temporaries left
        from vidlabel.store.project import Project
        with Project.open(out, readonly=True) as p:
            assert len(p.boxes()) > 0


def test_a_broken_seqinfo_is_one_line(tmp_path, capsys):
    from vidlabel.cli import main

    from .conftest import SAMPLE, SAMPLE_GT

    (tmp_path / "gt").mkdir()
    (tmp_path / "gt" / "gt.txt").write_text(SAMPLE_GT.read_text())
    (tmp_path / "seqinfo.ini").write_text("[Sequence]\nname=x\nbroken line without equals\n  indented\n")
    code = main(["import", str(SAMPLE), "--format", "mot", "--gt", str(tmp_path), "-o", str(tmp_path / "p.vlp")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "seqinfo.ini is not a valid INI file" in err
    assert not (tmp_path / "p.vlp").exists()


@pytest.mark.parametrize("value", ["nan", "1.5", "-0.1"])
def test_export_refuses_a_min_score_that_filters_nothing_or_everything(tmp_path, capsys, value):
    from .conftest import SAMPLE_GT

    project = tmp_path / "p.vlp"
    assert main(["import", str(SAMPLE), "--format", "mot", "--gt", str(SAMPLE_GT), "-o", str(project)]) == 0
    capsys.readouterr()
    code = main(["export", str(project), "--format", "coco", "-o", str(tmp_path / "x.json"), "--min-score", value])
    err = capsys.readouterr().err
    assert code == 2 and "--min-score must be between 0 and 1" in err and err.count("\n") == 1
    assert not (tmp_path / "x.json").exists()


# ---------------------------------------------------------------- any bytes at all (hypothesis)
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

cells = st.one_of(st.integers(-5, 120).map(str), st.integers().map(str),
                  st.floats(allow_nan=True, allow_infinity=True).map(repr),
                  st.sampled_from(["", " ", "x", "1e308", "-1", "nan", "0x10", "1_0"]))
mot_rows = st.lists(st.lists(cells, min_size=0, max_size=11).map(",".join), max_size=6).map("\n".join)
json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5)),
                           lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                   st.dictionaries(st.text(max_size=5), inner, max_size=4)),
                           max_leaves=12)
coco_files = st.builds(
    lambda images, annotations, categories: json.dumps({"images": images, "annotations": annotations,
                                                        "categories": categories}),
    st.lists(st.fixed_dictionaries({"id": st.integers(-2, 3), "frame_index": st.integers(-2, 90)},
                                   optional={"width": st.integers(0, 2000), "file_name": st.text(max_size=8)}),
             max_size=3),
    st.lists(st.fixed_dictionaries({"id": st.integers(0, 3), "image_id": st.integers(0, 3),
                                    "category_id": st.integers(0, 3),
                                    "bbox": st.lists(st.one_of(st.floats(), st.integers(-900, 900), json_values),
                                                     max_size=5)},
                                   optional={"score": st.floats(), "track_id": json_values,
                                             "iscrowd": json_values, "occluded": json_values}),
             max_size=4),
    st.lists(st.fixed_dictionaries({"id": st.integers(0, 3), "name": st.one_of(st.text(max_size=6), json_values)}),
             max_size=3))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(mot_rows.map(lambda t: ("mot", t)), coco_files.map(lambda t: ("coco", t))))
def test_any_file_is_imported_whole_or_refused_with_one_line_and_nothing_made(tmp_path_factory, data):
    """Whatever the file holds: a project with every box, or one FormatError naming the file
    and nothing at the output path (never another exception: that would be a traceback)."""
    fmt, content = data
    folder = tmp_path_factory.mktemp("any")
    source = folder / ("in.json" if fmt == "coco" else "in.txt")
    source.write_text(content)
    try:
        project = import_annotations(SAMPLE, source, folder / "p.vlp", fmt)
    except FormatError as exc:
        event(f"{fmt} refused")
        assert "\n" not in str(exc) and str(source) in str(exc)
        assert sorted(p.name for p in folder.iterdir()) == [source.name]
    else:
        event(f"{fmt} imported")
        project.close()
        assert sorted(p.name for p in folder.iterdir()) == sorted([source.name, "p.vlp"])
    assert source.read_text() == content
