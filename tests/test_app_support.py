"""The Qt-free parts behind the app: opening a video's project, statistics, shortcut files,
and the rule that Qt stays inside `vidlabel/gui/`."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vidlabel.datamodel import Box, Source
from vidlabel.errors import ProjectError, VidlabelError
from vidlabel.review.corrections import Editor
from vidlabel.review.stats import summarize
from vidlabel.store.files import default_project_path, open_or_create_project

from .conftest import ROOT, SAMPLE


def test_video_opens_through_a_project_beside_it(tmp_path):
    video = shutil.copy(SAMPLE, tmp_path / "clip.mp4")
    project, frames = open_or_create_project(video, classes=("person", "car"))
    assert project.path == default_project_path(video) == tmp_path / "clip.mp4.vlp"
    assert project.class_names() == ["person", "car"] and frames.frame_count == 80
    project.close(), frames.close()
    again, frames = open_or_create_project(video, classes=("other",))  # reopened, not recreated
    assert again.class_names() == ["person", "car"]
    again.close(), frames.close()
    chosen, frames = open_or_create_project(video, tmp_path / "elsewhere" / "mine.vlp")
    assert chosen.path.is_file() and chosen.class_names() == []
    chosen.close(), frames.close()


def test_a_video_in_a_read_only_folder_gets_its_project_in_the_per_user_folder(tmp_path, monkeypatch):
    (tmp_path / "dataset").mkdir()
    video = shutil.copy(SAMPLE, tmp_path / "dataset" / "clip.mp4")
    monkeypatch.setenv("VIDLABEL_PROJECTS", str(tmp_path / "mine"))
    # root writes anywhere, so a read-only folder cannot be made here: the check itself is faked
    monkeypatch.setattr("vidlabel.store.files.os.access",
                        lambda path, mode: Path(path) != tmp_path / "dataset")
    project, frames = open_or_create_project(video, classes=("person",))
    with project, frames, project.action("add class", "human"):
        assert project.path.parent == tmp_path / "mine"
        project.add_class("car")
    assert list((tmp_path / "dataset").iterdir()) == [video]
    again, frames = open_or_create_project(video)   # found again, not a second project
    with again, frames:
        assert again.class_names() == ["person", "car"]


def test_a_project_path_in_a_read_only_folder_is_one_clear_error(tmp_path, monkeypatch):
    video = shutil.copy(SAMPLE, tmp_path / "clip.mp4")
    monkeypatch.setattr("vidlabel.store.files.os.access", lambda path, mode: Path(path) != tmp_path / "ro")
    (tmp_path / "ro").mkdir()
    with pytest.raises(ProjectError, match="not writable"):
        open_or_create_project(video, tmp_path / "ro" / "p.vlp")
    assert not (tmp_path / "ro" / "p.vlp").exists()


def test_summaries_count_sources_tracks_and_human_time(tmp_path):
    project, video = open_or_create_project(shutil.copy(SAMPLE, tmp_path / "c.mp4"), classes=("person", "car"))
    with project.action("prelabel", "machine"):
        t = project.new_track()
        for f in range(5):
            project.put_box(Box(f, t, 0 if f else 1, 10 + f, 10, 20, 40, confidence=0.6,
                                source=Source.DETECTOR))
        project.put_box(Box(6, t, 1, 0, 0, 0, 0, source=Source.HUMAN, verified=True, outside=True))
    editor = Editor(project)
    editor.add_box(2, (100, 100, 30, 60), 0)   # draw: 7 s
    editor.accept_frame(2)                     # two boxes looked at: 2 s
    stats, tracks = summarize(project)
    assert stats.frames == 80 and stats.verified_frames == 1 and stats.tracks == 2
    assert stats.boxes_by_source == {"detector": 5, "human": 1}
    assert stats.verified_boxes == 2
    assert stats.human_actions == 2 and stats.human_seconds == pytest.approx(9.0)
    first = tracks[0]
    # outside boxes are no visible boxes; the class is the track's most frequent one
    assert (first.track_id, first.class_id, first.first, first.last, first.boxes) == (t, 0, 0, 4, 5)
    assert first.verified_share == pytest.approx(0.2)
    project.close(), video.close()


def test_shortcut_files_are_checked(tmp_path):
    pytest.importorskip("PyQt6")
    from vidlabel.gui import shortcuts

    defaults = shortcuts.load(tmp_path / "missing.yaml")
    assert defaults["next_frame"] == ["Right", "D"] and set(defaults) == set(shortcuts.DESCRIPTIONS)
    good = tmp_path / "good.yaml"
    good.write_text("shortcuts:\n  undo: [Ctrl+U]\n  play_pause: P\n")
    keys = shortcuts.load(good)
    assert keys["undo"] == ["Ctrl+U"] and keys["play_pause"] == ["P"] and keys["redo"] == defaults["redo"]
    for text, message in (("shortcuts:\n  fly: [Q]\n", "unknown action 'fly'"),
                          ("shortcuts: [1, 2]\n", "needs a `shortcuts:` mapping"),
                          ("shortcuts:\n  undo: {a: 1}\n", "keys must be a list"),
                          ("shortcuts:\n  undo: [\n", "cannot read shortcuts")):
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        with pytest.raises(VidlabelError, match=message) as err:
            shortcuts.load(bad)
        assert str(bad) in str(err.value)


def test_qt_is_imported_only_by_the_gui_package():
    imports_qt = re.compile(r"^\s*(import|from)\s+PyQt6", re.MULTILINE)
    offenders = [p.relative_to(ROOT) for p in (ROOT / "vidlabel").rglob("*.py")
                 if imports_qt.search(p.read_text()) and "gui" not in p.relative_to(ROOT / "vidlabel").parts]
    assert offenders == []
    out = subprocess.run([sys.executable, "-c", "import sys, vidlabel.cli as c; c.build_parser(); "
                          "print('PyQt6' in sys.modules)"], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr
