"""Project statistics: how far the review is, what the machine made, what the person spent."""

from __future__ import annotations

from PyQt6.QtWidgets import QFormLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from ..review.stats import ProjectStats
from ..review.stopping import stopping_line


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class StatsPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.verified = QLabel("–")
        self.verified.setObjectName("statValue")
        self.values = {k: QLabel("–") for k in ("boxes", "sources", "verified boxes", "tracks",
                                                "human time", "human edits", "errors left")}
        self.quality = QLabel("–")   # shown in the window's status bar
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        caption = QLabel("verified frames")
        caption.setObjectName("statName")
        layout.addWidget(caption)
        layout.addWidget(self.verified)
        layout.addWidget(self.progress)
        form = QFormLayout()
        form.setHorizontalSpacing(14)
        for key, label in self.values.items():
            name = QLabel(key)
            name.setObjectName("statName")
            label.setWordWrap(True)
            form.addRow(name, label)
        layout.addLayout(form)
        layout.addStretch(1)

    def set_stats(self, s: ProjectStats) -> None:
        self.verified.setText(f"{s.verified_frames} / {s.frames}")
        self.progress.setMaximum(max(1, s.frames))
        self.progress.setValue(s.verified_frames)
        self.progress.setFormat(f"{s.verified_frames / max(1, s.frames):.1%}")
        self.values["boxes"].setText(f"{s.boxes:,}")
        self.values["sources"].setText(", ".join(f"{k} {v:,}" for k, v in sorted(s.boxes_by_source.items())) or "–")
        self.values["verified boxes"].setText(f"{s.verified_boxes:,} ({s.verified_boxes / max(1, s.boxes):.0%})")
        self.values["tracks"].setText(f"{s.tracks:,}")
        self.values["human time"].setText(f"≈ {format_duration(s.human_seconds)}")
        self.values["human edits"].setText(f"{s.human_actions:,}")

    def set_guidance(self, stopping: dict) -> None:
        """The review session's estimate of what is still wrong (see vidlabel/review/stopping.py)."""
        left = stopping.get("estimated_remaining_errors")
        self.values["errors left"].setText("–" if left is None else f"≈ {left:.0f} (estimated)")
        self.quality.setText(stopping_line(stopping) if "estimated_quality" in stopping else "–")
