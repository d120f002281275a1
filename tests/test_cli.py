"""The command line as a user meets it: help, info, doctor, one-line errors."""

from __future__ import annotations

import subprocess
import sys

from vidlabel.cli import main

from .conftest import ROOT, SAMPLE


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vidlabel", *args], capture_output=True, text=True,
                          cwd=ROOT)


def test_help_lists_subcommands():
    out = run_cli("--help")
    assert out.returncode == 0
    for cmd in ("info", "doctor", "relink"):
        assert cmd in out.stdout


def test_info_video_prints_frame_count(capsys):
    assert main(["info", str(SAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "frames           80" in out and "768x576" in out


def test_info_project(tmp_path, capsys):
    from vidlabel.store.files import create_project

    project, video = create_project(SAMPLE, tmp_path / "p.vlp", ["person"])
    project.close(), video.close()
    assert main(["info", str(tmp_path / "p.vlp")]) == 0
    assert "person" in capsys.readouterr().out


def test_errors_are_one_line_and_nonzero(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_text("nope")
    out = run_cli("info", str(bad))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "not a readable video" in lines[0] and str(bad) in lines[0]
    verbose = run_cli("--verbose", "info", str(bad))
    assert "Traceback" in verbose.stderr


def test_doctor_reports_trackers_and_detector():
    out = run_cli("doctor")
    assert out.returncode == 0
    assert "trackers" in out.stdout and "csrt" in out.stdout and "detector" in out.stdout


def test_operating_system_errors_are_one_line(tmp_path):
    """-o an existing folder for a COCO file, or a path inside a file: the OS refuses."""
    from .conftest import SAMPLE_GT

    project = tmp_path / "p.vlp"
    assert main(["import", str(SAMPLE), "--format", "mot", "--gt", str(SAMPLE_GT), "-o", str(project)]) == 0
    (tmp_path / "afile").write_text("x")
    for out in (tmp_path / "afile" / "inside.json", tmp_path / "afile" / "deeper" / "d.json"):
        result = run_cli("export", str(project), "--format", "coco", "-o", str(out))
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
        assert "Traceback" not in result.stderr and "afile" in result.stderr
