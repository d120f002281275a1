"""The command line starts at once: parsing imports no heavy library (`python -X importtime`)."""

from __future__ import annotations

import subprocess
import sys

from .conftest import SAMPLE

HEAVY = ("torch", "ultralytics", "scipy", "matplotlib", "PyQt6", "av", "cv2")


def imported(*args: str) -> set[str]:
    """Top-level modules `python -X importtime -m vidlabel ARGS` imported."""
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "vidlabel", *args],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    names = {line.rsplit("|", 1)[1].strip() for line in run.stderr.splitlines()
             if line.startswith("import time:") and "|" in line}
    return {n for n in names if "." not in n}


def test_help_imports_no_heavy_library():
    assert imported("--help") & set(HEAVY) == set()
    assert imported("export", "--help") & set(HEAVY) == set()


def test_info_on_a_video_imports_only_what_reading_it_needs():
    assert imported("info", str(SAMPLE)) & set(HEAVY) <= {"av", "cv2"}
