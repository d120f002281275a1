"""The track list: every object with its class, where it is in the video, and how much is checked."""

from __future__ import annotations

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QColor, QIcon, QPixmap
from PyQt6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from ..review.stats import TrackSummary
from . import theme
from .bars import VALUE_ROLE, BarDelegate


def _swatch(colour: QColor) -> QIcon:
    pix = QPixmap(10, 10)
    pix.fill(colour)
    return QIcon(pix)


class TracksPanel(QWidget):
    trackChosen = pyqtSignal(int, int, int)  # track id, first frame, last frame

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._shown: tuple | None = None   # what the rows show (see set_tracks)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["track", "class", "frames", "boxes", "verified"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSortingEnabled(True)
        self.tree.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.tree.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.tree.header()
        for col in range(4):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setItemDelegateForColumn(4, BarDelegate(lambda v: theme.VERIFIED, self.tree))
        self.tree.itemClicked.connect(self._clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree)

    def set_tracks(self, tracks: list[TrackSummary], class_names: list[str], selected: int | None) -> None:
        """The rows, rebuilt only when what they show changed (a refresh after each edit most
        often finds the same tracks; rebuilding 40 rows costs 5 ms of the UI thread)."""
        shown = (list(tracks), list(class_names), selected)
        if shown == self._shown:
            return
        self._shown = shown
        self.tree.setSortingEnabled(False)
        self.tree.clear()
        for t in tracks:
            name = class_names[t.class_id] if 0 <= t.class_id < len(class_names) else "?"
            item = _Item([str(t.track_id), name, f"{t.first}–{t.last}", str(t.boxes),
                          f"{t.verified_share:.0%}"])
            item.setIcon(0, _swatch(theme.track_colour(t.track_id)))
            item.setData(0, Qt.ItemDataRole.UserRole, (t.track_id, t.first, t.last))
            item.setData(4, VALUE_ROLE, t.verified_share)
            self.tree.addTopLevelItem(item)
            if t.track_id == selected:
                item.setSelected(True)
        self.tree.setSortingEnabled(True)

    def select(self, track_id: int | None) -> None:
        """Mark the selected track's row (the selection changes on the canvas and by queue jumps)."""
        self.tree.clearSelection()
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, Qt.ItemDataRole.UserRole)[0] == track_id:
                item.setSelected(True)
                self.tree.scrollToItem(item)

    def _clicked(self, item: QTreeWidgetItem, _col: int) -> None:
        self.trackChosen.emit(*item.data(0, Qt.ItemDataRole.UserRole))


class _Item(QTreeWidgetItem):
    """Sorts the numeric columns as numbers, not as text."""

    def __lt__(self, other: QTreeWidgetItem) -> bool:
        col = self.treeWidget().sortColumn() if self.treeWidget() else 0

        def key(item: QTreeWidgetItem):
            text = item.text(col).rstrip("%").split("–")[0]
            try:
                return (0, float(text))
            except ValueError:
                return (1, text)
        return key(self) < key(other)
