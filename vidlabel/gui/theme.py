"""The app's look: a dark Fusion palette, one stylesheet, and the track colours.

Annotators look at this window for hours: a dark frame around the video keeps the footage the
brightest thing on screen, and track colours are picked to stay apart on both dark and busy
backgrounds.
"""

from __future__ import annotations

import numpy as np
from PyQt6.QtGui import QColor, QPalette
from PyQt6.QtWidgets import QApplication

BACKGROUND = QColor("#1e1f22")
PANEL = QColor("#2b2d30")
RAISED = QColor("#393b40")
TEXT = QColor("#dfe1e5")
MUTED = QColor("#8c8f96")
ACCENT = QColor("#4c8dff")
VERIFIED = QColor("#3fb950")
UNCERTAIN = QColor("#ff5a36")
CALM = QColor("#3a5a80")   # low uncertainty on the timeline
AMBER = QColor("#e8b339")

# Twenty well separated hues (Glasbey-like), indexed by track id.
TRACK_COLOURS = [QColor(c) for c in (
    "#ff6b6b", "#4dabf7", "#51cf66", "#fcc419", "#cc5de8", "#22b8cf", "#ff922b", "#94d82d",
    "#f06595", "#5c7cfa", "#20c997", "#ffd43b", "#e599f7", "#74c0fc", "#ffa94d", "#8ce99a",
    "#ff8787", "#91a7ff", "#63e6be", "#ffe066")]


def track_colour(track_id: int) -> QColor:
    return TRACK_COLOURS[track_id % len(TRACK_COLOURS)]


def heat(values: np.ndarray) -> np.ndarray:
    """Colours (n x 3 RGB, uint8) for uncertainties in 0..1: calm blue-grey through amber to
    red-orange (no muddy brown in between). Vectorised: the timeline colours a whole strip of
    pixel columns at each change."""
    v = np.clip(np.asarray(values, float), 0.0, 1.0)[:, None]
    calm, amber, hot = (np.array([c.red(), c.green(), c.blue()], float) for c in (CALM, AMBER, UNCERTAIN))
    low = calm + (amber - calm) * (v * 2)
    high = amber + (hot - amber) * ((v - 0.5) * 2)
    return np.rint(np.where(v < 0.5, low, high)).astype(np.uint8)


HEAT_STEPS = [QColor(*map(int, rgb)) for rgb in heat(np.linspace(0.0, 1.0, 256))]


def heat_colour(value: float) -> QColor:
    """`heat` of one value (a queue row's score bar), from a table of 256 steps: painting a
    queue of 30 rows must not cost a numpy call per row."""
    return HEAT_STEPS[round(min(max(value, 0.0), 1.0) * 255)]


STYLESHEET = f"""
QMainWindow, QDialog {{ background: {BACKGROUND.name()}; }}
QWidget {{ color: {TEXT.name()}; font-size: 10pt; }}
QDockWidget {{ font-weight: 600; }}
QDockWidget::title {{ background: {PANEL.name()}; padding: 6px 8px; border-bottom: 1px solid #3c3f45; }}
QTreeView, QListView, QTableView {{ background: {PANEL.name()}; border: none;
    alternate-background-color: #303236; selection-background-color: #2f5597; }}
QHeaderView::section {{ background: {PANEL.name()}; color: {MUTED.name()}; border: none;
    border-bottom: 1px solid #3c3f45; padding: 4px 6px; font-weight: 600; }}
QToolBar {{ background: {PANEL.name()}; border: none; border-bottom: 1px solid #3c3f45;
    spacing: 4px; padding: 3px; }}
QToolButton {{ padding: 4px 8px; border-radius: 4px; }}
QToolButton:hover {{ background: {RAISED.name()}; }}
QToolButton:checked {{ background: #2f5597; }}
QPushButton {{ background: {RAISED.name()}; border: 1px solid #4a4d54; border-radius: 4px;
    padding: 4px 12px; }}
QPushButton:hover {{ border-color: {ACCENT.name()}; }}
QStatusBar {{ background: {PANEL.name()}; color: {MUTED.name()}; border-top: 1px solid #3c3f45; }}
QStatusBar QLabel {{ color: {MUTED.name()}; padding: 0 8px; }}
QLabel#statValue {{ font-size: 15pt; font-weight: 600; }}
QLabel#statName {{ color: {MUTED.name()}; }}
QProgressBar {{ background: {PANEL.name()}; border: 1px solid #4a4d54; border-radius: 4px;
    text-align: center; height: 14px; }}
QProgressBar::chunk {{ background: {VERIFIED.name()}; border-radius: 3px; }}
QLineEdit, QSpinBox, QComboBox {{ background: {PANEL.name()}; border: 1px solid #4a4d54;
    border-radius: 4px; padding: 3px 6px; }}
"""


def apply(app: QApplication) -> None:
    """Fusion with a dark palette: the same look on every platform, including offscreen."""
    app.setStyle("Fusion")
    pal = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, BACKGROUND), (QPalette.ColorRole.WindowText, TEXT),
        (QPalette.ColorRole.Base, PANEL), (QPalette.ColorRole.AlternateBase, RAISED),
        (QPalette.ColorRole.Text, TEXT), (QPalette.ColorRole.Button, RAISED),
        (QPalette.ColorRole.ButtonText, TEXT), (QPalette.ColorRole.Highlight, QColor("#2f5597")),
        (QPalette.ColorRole.HighlightedText, QColor("#ffffff")),
        (QPalette.ColorRole.ToolTipBase, PANEL), (QPalette.ColorRole.ToolTipText, TEXT),
        (QPalette.ColorRole.PlaceholderText, MUTED),
    ):
        pal.setColor(role, colour)
    app.setPalette(pal)
    app.setStyleSheet(STYLESHEET)
