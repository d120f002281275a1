"""A project remembers its video and notices when it moved or changed."""

from __future__ import annotations

import shutil

import pytest

from vidlabel.errors import VideoError
from vidlabel.store.files import create_project, open_project_video, relink_video
from vidlabel.store.project import Project

from .conftest import SAMPLE


def test_create_reopen_move_and_relink(tmp_path, clips):
    video = tmp_path / "clip.mp4"
    shutil.copy(SAMPLE, video)
    project, v = create_project(video, tmp_path / "p.vlp", ["person"])
    first = v.frame(5).copy()
    v.close()
    assert project.video.frame_count == 80 and project.video_frame_index()
    moved = tmp_path / "moved.mp4"
    video.rename(moved)
    with pytest.raises(VideoError, match="relink"):
        open_project_video(project)
    with pytest.raises(VideoError, match="not the project's video"):
        relink_video(project, clips["bframes"])
    relink_video(project, moved).close()
    project.close()
    with Project.open(tmp_path / "p.vlp") as project, open_project_video(project) as v:
        assert (v.frame(5) == first).all()


def test_changed_video_is_detected(tmp_path):
    video = tmp_path / "clip.mp4"
    shutil.copy(SAMPLE, video)
    project, v = create_project(video, tmp_path / "p.vlp")
    v.close()
    with video.open("r+b") as f:
        f.seek(100)
        f.write(b"\x00\x01\x02")
    with pytest.raises(VideoError, match="changed"):
        open_project_video(project)
    project.close()


def test_an_altered_project_is_refused_or_repaired_not_a_traceback(tmp_path):
    """A garbage cached frame index is rebuilt from the video (it is a cache); a frame count
    that disagrees with the video is one clear error (it once made `queue` grow to 6 GB)."""
    import shutil
    import sqlite3

    from vidlabel.errors import VideoError
    from vidlabel.store.files import create_project, open_or_create_project

    from .conftest import SAMPLE

    video = shutil.copy(SAMPLE, tmp_path / "v.mp4")
    project, frames = create_project(video, tmp_path / "p.vlp", ["person"])
    project.close(), frames.close()
    conn = sqlite3.connect(tmp_path / "p.vlp")
    conn.execute("UPDATE video SET frame_index = ?", (b"not an index at all",))
    conn.commit()
    conn.close()
    project, frames = open_or_create_project(tmp_path / "p.vlp")
    with project, frames:
        assert frames.frame_count == 80 and frames.frame(79).shape == (576, 768, 3)
    conn = sqlite3.connect(tmp_path / "p.vlp")
    conn.execute("UPDATE video SET frame_count = 100000000")
    conn.commit()
    conn.close()
    with pytest.raises(VideoError, match="the project says its video has 100000000 frames"):
        open_or_create_project(tmp_path / "p.vlp")
