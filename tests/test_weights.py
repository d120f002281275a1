"""Only a model somebody chose is loaded, from documented places; a missing one is one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vidlabel import weights
from vidlabel.errors import ModelNotFoundError

from .conftest import ROOT, SAMPLE


def booby_trapped_checkpoint(path: Path, marker: Path) -> Path:
    """A `.pt` whose unpickling creates `marker`: what any code in a pickle could do instead."""
    import torch

    class Trap:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": Trap()}, path)
    return path


def vidlabel(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "VIDLABEL_MODEL"}
    environment.update(VIDLABEL_OFFLINE="1", PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, "-m", "vidlabel", *args], capture_output=True, text=True,
                          cwd=cwd, env=environment, timeout=600)


def test_a_model_in_the_working_folder_is_never_loaded(tmp_path):
    marker = tmp_path / "pickle-ran"
    work = tmp_path / "work"
    for folder in (work / "models", tmp_path / "shared" / "models"):
        booby_trapped_checkpoint(folder / "yolo11n.pt", marker)
    out = vidlabel("prelabel", str(SAMPLE), "-o", "p.vlp", "--end", "1", cwd=work)
    assert not marker.exists(), "a checkpoint nobody chose was unpickled"
    # Either the documented places hold a model, or the one-line error says where to put one.
    assert out.returncode == 0 or (out.returncode == 2 and str(weights.MODELS_DIR) in out.stderr)


@pytest.mark.parametrize("how", ["--model", "VIDLABEL_MODEL"])
def test_a_named_model_that_does_not_exist_is_an_error_naming_it(tmp_path, how):
    args, env = (["--model", "/nope/x.pt"], {}) if how == "--model" else ([], {"VIDLABEL_MODEL": "/nope/x.pt"})
    out = vidlabel("prelabel", str(SAMPLE), "-o", "p.vlp", *args, cwd=tmp_path, **env)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "/nope/x.pt" in out.stderr
    assert not (tmp_path / "p.vlp").exists()


def test_a_pt_file_is_loaded_without_running_its_code(tmp_path):
    marker = tmp_path / "pickle-ran"
    trap = booby_trapped_checkpoint(tmp_path / "chosen.pt", marker)
    out = vidlabel("prelabel", str(SAMPLE), "-o", "p.vlp", "--model", str(trap), cwd=tmp_path)
    assert not marker.exists(), "restricted loading did not stop the pickle's code"
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert "cannot load the detector" in out.stderr and not (tmp_path / "p.vlp").exists()


def test_offline_without_any_model_names_the_file_and_the_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("VIDLABEL_OFFLINE", "1")
    monkeypatch.delenv("VIDLABEL_MODEL", raising=False)
    monkeypatch.setattr(weights, "search_dirs", lambda: [tmp_path])
    with pytest.raises(ModelNotFoundError) as err:
        weights.resolve_detector()
    message = str(err.value)
    assert "\n" not in message
    assert weights.DOWNLOADABLE_DEFAULT in message and str(weights.MODELS_DIR) in message


def test_online_without_any_model_falls_back_to_the_ultralytics_default(monkeypatch, tmp_path):
    monkeypatch.delenv("VIDLABEL_OFFLINE", raising=False)
    monkeypatch.delenv("VIDLABEL_MODEL", raising=False)
    monkeypatch.setattr(weights, "search_dirs", lambda: [tmp_path])
    assert weights.resolve_detector() == str(weights.MODELS_DIR / weights.DOWNLOADABLE_DEFAULT)
