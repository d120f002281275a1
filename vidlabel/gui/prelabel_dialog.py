"""Pre-labelling from the window: settings, then a progress bar that can be cancelled and resumed.

The job writes through the window's own project (the window is the project's one writer) from a
worker thread, with its own video reader. Detection stores each batch of frames as it goes, keyed
by model and settings, so Cancel stops after the batch in hand and leaves every stored frame
whole; running again with the same settings resumes where it stopped instead of starting over.
Tracks are linked and written only once every frame is detected, in one machine action.
"""

from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog,
                             QFormLayout, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton,
                             QSpinBox, QVBoxLayout, QWidget)

from ..errors import VidlabelError
from ..prelabelling.pipeline import PrelabelOptions, PrelabelSummary, prelabel_project
from ..propagation.trackers import available_trackers
from ..store.files import open_project_video
from ..store.project import Project
from ..weights import resolve_detector
from .jobs import Job


class PrelabelDialog(QDialog):
    prelabelled = pyqtSignal(object)  # PrelabelSummary of a finished run

    def __init__(self, project: Project, frame_count: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Pre-label")
        self.setMinimumWidth(540)
        self.project = project
        self.job: Job | None = None
        self.model = QLineEdit()
        try:
            self.model.setPlaceholderText(f"default: {resolve_detector(None)}")
        except VidlabelError as exc:
            self.model.setPlaceholderText(f"no default model: {exc.what}")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(browse)
        self.classes = QLineEdit(",".join(project.class_names()))
        self.classes.setPlaceholderText("all of the model's classes")
        self.tracker = QComboBox()
        self.tracker.addItem("none (interpolate between detections)", None)
        for name, ok in available_trackers().items():
            if ok:
                self.tracker.addItem(name, name)
        self.start = QSpinBox()
        self.end = QSpinBox()
        for box in (self.start, self.end):
            box.setRange(0, frame_count)
        self.end.setValue(frame_count)
        range_row = QHBoxLayout()
        range_row.addWidget(QLabel("from"))
        range_row.addWidget(self.start)
        range_row.addWidget(QLabel("to (exclusive)"))
        range_row.addWidget(self.end)
        self.every = QSpinBox()
        self.every.setRange(1, 1000)
        self.every.setPrefix("detect every ")
        self.every.setSuffix(" frame(s)")
        self.conf = QDoubleSpinBox()
        self.conf.setRange(0.01, 0.99)
        self.conf.setSingleStep(0.05)
        self.conf.setValue(PrelabelOptions.conf)
        form = QFormLayout()
        form.addRow("Model", model_row)
        form.addRow("Classes", self.classes)
        form.addRow("Gap tracker", self.tracker)
        form.addRow("Frames", range_row)
        form.addRow("", self.every)
        form.addRow("Accept threshold", self.conf)
        self.settings = QWidget()
        self.settings.setLayout(form)
        self.progress = QProgressBar()
        self.progress.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.run_button = self.buttons.addButton("Run", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.run_button.clicked.connect(self.start_job)
        self.cancel_button.clicked.connect(self.cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(self.settings)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "OpenVINO model folder (or cancel to pick a file)")
        if not chosen:
            chosen, _ = QFileDialog.getOpenFileName(self, "Detector weights", "", "Models (*.pt *.onnx)")
        if chosen:
            self.model.setText(chosen)

    def options(self) -> PrelabelOptions:
        classes = tuple(c.strip() for c in self.classes.text().split(",") if c.strip())
        if self.end.value() <= self.start.value():
            raise VidlabelError(f"the range is empty: from {self.start.value()} to {self.end.value()}")
        return PrelabelOptions(model=self.model.text().strip() or None, classes=classes or None,
                               conf=self.conf.value(), start=self.start.value(), end=self.end.value(),
                               detect_every=self.every.value(), tracker=self.tracker.currentData())

    def start_job(self) -> None:
        try:
            options = self.options()
        except VidlabelError as exc:
            self.status.setText(str(exc))
            return
        project = self.project

        def work(job: Job) -> PrelabelSummary:
            def on_batch(done: int, total: int) -> None:
                job.report(done, total, "detecting")
                job.check()  # Cancel stops here, after a whole batch is stored

            with open_project_video(project) as video:  # its own reader: the UI keeps the other
                return prelabel_project(project, video, options, on_batch=on_batch)

        self.job = Job(work, self)
        self.job.progress.connect(self._progress)
        self.job.finished.connect(self._finished)
        self.job.failed.connect(self._failed)
        self.job.cancelled_.connect(self._cancelled)
        self.settings.setEnabled(False)
        self.run_button.setEnabled(False)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.status.setText("loading the model …")
        self.job.start()

    def _progress(self, done: int, total: int, what: str) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.status.setText(f"{what}: {done} / {total} frames")

    def cancel(self) -> None:
        """Cancel a running job (it stops after the batch in hand), or close the dialog."""
        if self.job is not None and not self.job.wait(0):
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.status.setText("stopping after the current batch …")
        else:
            self.reject()

    def _stopped(self, text: str) -> None:
        self.job = None
        self.settings.setEnabled(True)
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(True)
        self.status.setText(text)

    def _cancelled(self) -> None:
        self.run_button.setText("Resume")
        self._stopped(f"cancelled: {self.progress.value()} of {self.progress.maximum()} frames are "
                      "detected and kept; Resume continues from there")

    def _failed(self, message: str) -> None:
        self.progress.hide()
        self._stopped(message)

    def _finished(self, summary: PrelabelSummary) -> None:
        self._stopped(f"{summary.tracks} tracks, {sum(summary.boxes.values())} boxes "
                      f"({summary.detected_frames} frames detected, {summary.resumed_frames} resumed)")
        self.prelabelled.emit(summary)
        self.accept()

    def reject(self) -> None:
        if self.job is not None and not self.job.wait(0):
            self.cancel()  # closing the dialog while it runs means stop, not abandon
            return
        super().reject()
