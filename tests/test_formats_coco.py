"""COCO export/import: round trips lose nothing, pycocotools reads it cleanly, options select."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from vidlabel.datamodel import Source
from vidlabel.errors import FormatError, VidlabelError
from vidlabel.formats import export_projects, import_annotations
from vidlabel.formats.common import ExportOptions, ImportOptions

from .conftest import (
    PETS,
    SAMPLE,
    SAMPLE_GT,
    encode_clip,
    pets_available,
    synthetic_frames,
)
from .formats_data import assert_same_boxes, full_disk, rich_project


def load_quietly(path: Path) -> COCO:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return COCO(str(path))


def test_round_trip_is_identical(tmp_path):
    with rich_project(tmp_path / "a.vlp") as a:
        export_projects([a], "coco", tmp_path / "a.json")
        with import_annotations(SAMPLE, tmp_path / "a.json", tmp_path / "b.vlp", "coco") as b:
            export_projects([b], "coco", tmp_path / "b.json")
            assert_same_boxes(a, b)
            assert b.class_names() == ["person", "Car"]
            assert b.verified_frames() == [1, 4]
            assert [t.id for t in b.tracks()] == [3, 10]   # 11 held only a box off the image
    assert json.loads((tmp_path / "a.json").read_text()) == json.loads((tmp_path / "b.json").read_text())


def test_export_content_follows_coco_and_cvat_conventions(tmp_path):
    with rich_project(tmp_path / "a.vlp") as a:
        export_projects([a], "coco", tmp_path / "a.json")
    coco = load_quietly(tmp_path / "a.json")
    data = json.loads((tmp_path / "a.json").read_text())
    assert len(data["images"]) == 80  # every frame, empty ones too
    assert [i["id"] for i in data["images"]] == list(range(1, 81))
    image = data["images"][3]
    assert (image["frame_index"], image["frame_id"], image["video_id"], image["file_name"]) == \
        (3, 3, 1, "sample_000003.jpg")
    assert data["videos"] == [{"id": 1, "name": "sample.mp4", "width": 768, "height": 576,
                               "fps": pytest.approx(7.0, abs=0.5), "frame_count": 80}]
    assert [c["id"] for c in data["categories"]] == [1, 2]
    boxes = [a for a in data["annotations"] if not a["iscrowd"]]
    assert min(a["id"] for a in data["annotations"]) == 1
    assert len({a["id"] for a in data["annotations"]}) == len(data["annotations"])
    interpolated = next(a for a in boxes if a["provenance"] == "interpolated")
    assert interpolated["attributes"] == {"track_id": 3, "keyframe": False,
                                          "occluded": True, "source": "auto"}
    human = next(a for a in boxes if a["provenance"] == "human")
    assert human["attributes"]["source"] == "manual" and human["verified"] is True
    vouched = next(a for a in boxes if a["provenance"] == "tracker" and a["verified"])
    assert vouched["attributes"]["source"] == "semi-auto"
    assert all(a["area"] == pytest.approx(a["bbox"][2] * a["bbox"][3]) for a in data["annotations"])
    assert not [a for a in data["annotations"] if a["image_id"] == 6]  # the outside mark is not a box
    assert data["vidlabel_outside"] == [{"image_id": 6, "track_id": 3, "category_id": 1,
                                         "bbox": [0.0, 0.0, 0.0, 0.0], "score": 1.0,
                                         "provenance": "human", "verified": True, "occluded": False}]
    assert len(coco.getAnnIds(iscrowd=True)) == 2 and len(coco.getAnnIds(iscrowd=False)) == 7   # not the off-image box


@pytest.mark.parametrize("options, expected_frames, expected_boxes", [
    (ExportOptions(verified_only=True), 80, 2),
    (ExportOptions(min_score=0.5), 80, 3),
    (ExportOptions(frames="annotated"), 6, 7),   # the box wholly off the image is no label
    (ExportOptions(frames="verified"), 2, 3),
    (ExportOptions(every=2), 40, 4),
    (ExportOptions(clip=True), 80, 7),
])
def test_selection_options(tmp_path, options, expected_frames, expected_boxes):
    with rich_project(tmp_path / "a.vlp") as a:
        export_projects([a], "coco", tmp_path / "a.json", options)
    data = json.loads((tmp_path / "a.json").read_text())
    assert len(data["images"]) == expected_frames
    assert len([a for a in data["annotations"] if not a["iscrowd"]]) == expected_boxes
    if options.clip:
        assert all(a["bbox"][0] >= 0 and a["bbox"][0] + a["bbox"][2] <= 768 for a in data["annotations"])


def test_write_frames_saves_the_named_images(tmp_path):
    with rich_project(tmp_path / "a.vlp") as a:
        export_projects([a], "coco", tmp_path / "a.json",
                        ExportOptions(frames="verified", write_frames=tmp_path / "frames"))
    names = sorted(p.name for p in (tmp_path / "frames").iterdir())
    assert names == [i["file_name"] for i in json.loads((tmp_path / "a.json").read_text())["images"]]


def test_several_projects_make_one_dataset_and_import_picks_its_video(tmp_path):
    clip = encode_clip(tmp_path / "other.mp4", synthetic_frames(12, 96, 64))
    with rich_project(tmp_path / "a.vlp") as a, rich_project(tmp_path / "c.vlp", clip) as c:
        export_projects([a, c], "coco", tmp_path / "both.json")
        data = json.loads((tmp_path / "both.json").read_text())
        assert [v["name"] for v in data["videos"]] == ["sample.mp4", "other.mp4"]
        assert len(data["images"]) == 92 and len({i["id"] for i in data["images"]}) == 92
        with import_annotations(clip, tmp_path / "both.json", tmp_path / "c2.vlp", "coco") as c2:
            assert_same_boxes(c, c2)


def test_cvat_style_coco_keeps_tracks(tmp_path):
    """CVAT's COCO: no frame_index, `frame_000003` names, tracks inside `attributes`."""
    data = {
        "images": [{"id": 7, "file_name": "frame_000003.jpg", "width": 768, "height": 576},
                   {"id": 8, "file_name": "frame_000004.jpg", "width": 768, "height": 576}],
        "categories": [{"id": 1, "name": "PERSON"}],
        "annotations": [
            {"id": 1, "image_id": 7, "category_id": 1, "bbox": [1, 2, 3, 4], "area": 12, "iscrowd": 0,
             "attributes": {"track_id": 0, "keyframe": True, "occluded": False, "source": "manual"}},
            {"id": 2, "image_id": 8, "category_id": 1, "bbox": [2, 2, 3, 4], "area": 12, "iscrowd": 0,
             "attributes": {"track_id": 0, "keyframe": False, "occluded": True, "source": "manual"}},
            {"id": 3, "image_id": 8, "category_id": 1, "bbox": [50, 2, 3, 4], "area": 12, "iscrowd": 0},
        ],
    }
    (tmp_path / "cvat.json").write_text(json.dumps(data))
    with import_annotations(SAMPLE, tmp_path / "cvat.json", tmp_path / "p.vlp", "coco",
                            ImportOptions(classes=["person"])) as p:
        (b0, b1), (b2,) = p.boxes(track_id=0), p.boxes(track_id=1)
        assert (b0.frame, b0.source, b0.verified) == (3, Source.HUMAN, True)
        assert (b1.frame, b1.source, b1.occluded) == (4, Source.INTERPOLATED, True)
        assert (b2.frame, b2.track_id, b2.class_id) == (4, 1, 0)


def test_prelabels_enter_as_unverified_machine_work(tmp_path):
    with rich_project(tmp_path / "a.vlp") as a:
        export_projects([a], "coco", tmp_path / "a.json")
    with import_annotations(SAMPLE, tmp_path / "a.json", tmp_path / "b.vlp", "coco",
                            ImportOptions(as_prelabels=True)) as b:
        assert not any(x.verified for x in b.boxes()) and b.verified_frames() == []
        assert Source.HUMAN not in {x.source for x in b.boxes()}
        assert b.actions()[-1].actor == "machine" and b.actions()[-1].kind == "import coco"
        b.undo()  # the import is one action
        assert b.boxes() == [] and b.ignore_regions() == []


def test_fixed_class_list_refuses_unknown_names(tmp_path):
    with rich_project(tmp_path / "a.vlp") as a:
        export_projects([a], "coco", tmp_path / "a.json")
    with pytest.raises(FormatError, match="class 'Car' is not one of the project's classes") as err:
        import_annotations(SAMPLE, tmp_path / "a.json", tmp_path / "b.vlp", "coco",
                           ImportOptions(classes=["PERSON"]))
    assert "annotations[" in str(err.value) and not (tmp_path / "b.vlp").exists()


def test_a_failed_export_leaves_no_file(tmp_path, monkeypatch):
    with rich_project(tmp_path / "a.vlp") as a:
        monkeypatch.setattr(Path, "write_bytes", full_disk)
        with pytest.raises(VidlabelError, match="cannot write the export: No space left on device"):
            export_projects([a], "coco", tmp_path / "out.json",
                            ExportOptions(frames="verified", write_frames=tmp_path / "frames"))
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("a.vlp")) == []


def test_projects_with_different_classes_do_not_mix(tmp_path):
    from vidlabel.store.files import create_project

    other, video = create_project(SAMPLE, tmp_path / "o.vlp", ["dog"])
    video.close()
    with rich_project(tmp_path / "a.vlp") as a, other:
        with pytest.raises(VidlabelError, match="different class lists"):
            export_projects([a, other], "coco", tmp_path / "x.json")


@pytest.mark.skipif(not pets_available(), reason="needs ../shared/data/PETS09-S2L1")
def test_pets09_gt_scores_ap_one_against_itself(tmp_path):
    """MOT import -> COCO export must line boxes up with image ids: COCOeval gives AP 1.0."""
    with import_annotations(PETS / "video.mp4", PETS / "gt" / "gt.txt", tmp_path / "p.vlp", "mot") as p:
        assert len(p.ignore_regions()) == 174
        export_projects([p], "coco", tmp_path / "pets.json")
    gt = load_quietly(tmp_path / "pets.json")
    anns = gt.loadAnns(gt.getAnnIds(iscrowd=False))
    assert len(anns) == 4476 and len(gt.getImgIds()) == 795
    dt = gt.loadRes([{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"],
                      "score": 1.0} for a in anns])
    ev = COCOeval(gt, dt, "bbox")
    ev.evaluate(), ev.accumulate(), ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0) and ev.stats[1] == pytest.approx(1.0)


def test_sample_gt_through_coco_matches_the_mot_rows(tmp_path):
    """Frame numbers line up with the decoder: MOT row frame k is COCO frame_index k - 1."""
    with import_annotations(SAMPLE, SAMPLE_GT, tmp_path / "p.vlp", "mot") as p:
        export_projects([p], "coco", tmp_path / "s.json")
    data = json.loads((tmp_path / "s.json").read_text())
    frame_of = {i["id"]: i["frame_index"] for i in data["images"]}
    rows = {(int(r[0]) - 1, int(r[1])): [float(v) for v in r[2:6]]
            for r in (line.split(",") for line in SAMPLE_GT.read_text().splitlines()) if r[6] != "0"}
    got = {(frame_of[a["image_id"]], a["track_id"]): a["bbox"] for a in data["annotations"] if not a["iscrowd"]}
    assert got == rows
