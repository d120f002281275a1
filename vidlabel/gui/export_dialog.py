"""Export from the window: COCO, MOTChallenge or YOLO, written by `vidlabel.formats` in a worker.

The export reads the project through its own read-only connection, so it sees the project as it
was when the export started and the person can keep annotating while files are written (the
formats write under a temporary name and rename when complete).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PyQt6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog,
                             QFormLayout, QHBoxLayout, QLabel, QLineEdit, QMessageBox, QProgressBar,
                             QPushButton, QSpinBox, QVBoxLayout, QWidget)

from ..errors import VidlabelError
from ..formats import export_projects
from ..formats.common import FRAME_SELECTIONS, ExportOptions
from ..store.project import Project
from .jobs import Job

FORMATS = {  # name -> (label, default output suffix beside the project)
    "coco": ("COCO json (with track ids)", "_coco.json"),
    "mot": ("MOTChallenge sequence folder", "_mot"),
    "yolo": ("Ultralytics YOLO dataset folder", "_yolo"),
}


class ExportDialog(QDialog):
    def __init__(self, project_path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.setMinimumWidth(520)
        self.project_path = project_path
        self.job: Job | None = None
        self.format = QComboBox()
        for name, (label, _) in FORMATS.items():
            self.format.addItem(label, name)
        self.output = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        out_row = QHBoxLayout()
        out_row.addWidget(self.output, 1)
        out_row.addWidget(browse)
        self.verified_only = QCheckBox("only boxes a person verified")
        self.include_candidates = QCheckBox("also unconfirmed candidate tracks")
        self.frames = QComboBox()
        self.frames.addItems(FRAME_SELECTIONS)
        self.every = QSpinBox()
        self.every.setRange(1, 10000)
        self.every.setPrefix("every ")
        self.every.setSuffix(" frame(s)")
        form = QFormLayout()
        form.addRow("Format", self.format)
        form.addRow("Write to", out_row)
        form.addRow("Boxes", self.verified_only)
        form.addRow("", self.include_candidates)
        form.addRow("Frames", self.frames)
        form.addRow("", self.every)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.busy)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.format.currentIndexChanged.connect(self._default_output)
        self._default_output()

    def fmt(self) -> str:
        return self.format.currentData()

    def _default_output(self) -> None:
        stem = self.project_path.with_suffix("")
        self.output.setText(str(stem.with_name(stem.name + FORMATS[self.fmt()][1])))

    def _browse(self) -> None:
        chosen, _ = QFileDialog.getSaveFileName(self, "Export to", self.output.text())
        if chosen:
            self.output.setText(chosen)

    def options(self) -> ExportOptions:
        return ExportOptions(verified_only=self.verified_only.isChecked(),
                             include_candidates=self.include_candidates.isChecked(),
                             frames=self.frames.currentText(), every=self.every.value())

    def start(self) -> None:
        """Export in a worker thread; the dialog stays responsive and shows the outcome."""
        try:
            options = self.options()
        except VidlabelError as exc:
            self.status.setText(str(exc))
            return
        fmt, out, path = self.fmt(), Path(self.output.text()), self.project_path
        if out.exists() and (out.is_file() or any(out.iterdir())):
            if QMessageBox.question(self, "Replace?", f"{out} exists. Replace it with this export?") \
                    != QMessageBox.StandardButton.Yes:
                self.status.setText(f"not exported: {out} exists; choose another name")
                return
            options = replace(options, overwrite=True)

        def work(job: Job) -> Path:
            with Project.open(path, readonly=True) as project:
                export_projects([project], fmt, out, options)
            return out

        self.job = Job(work, self)
        self.job.finished.connect(self._done)
        self.job.failed.connect(self._failed)
        self.export_button.setEnabled(False)
        self.busy.show()
        self.status.setText(f"exporting {fmt} to {out} …")
        self.job.start()

    def _done(self, out: Path) -> None:
        self.busy.hide()
        self.status.setText(f"exported to {out}")
        self.accept()

    def _failed(self, message: str) -> None:
        self.busy.hide()
        self.export_button.setEnabled(True)
        self.status.setText(message)
