"""The review queue: the frames the machine is least sure of, best first, with why."""

from __future__ import annotations

from collections.abc import Sequence

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import QHeaderView, QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from .bars import VALUE_ROLE, BarDelegate
from .theme import heat


class QueuePanel(QWidget):
    frameChosen = pyqtSignal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["#", "frame", "score", "why"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.tree.header()
        for col in (0, 1):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setColumnWidth(2, 92)
        self.tree.setItemDelegateForColumn(2, BarDelegate(heat, self.tree))
        self.tree.itemClicked.connect(lambda item, _col: self.frameChosen.emit(item.data(1, Qt.ItemDataRole.UserRole)))
        self.empty = QLabel("Nothing to review yet: pre-label the video (Jobs menu) to get a ranked queue.")
        self.empty.setWordWrap(True)
        self.empty.setObjectName("statName")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree)
        layout.addWidget(self.empty)

    def set_picks(self, picks: Sequence) -> None:
        """`picks`: objects with `frame`, `score` and `reasons` (the review session's `Pick`)."""
        self.tree.clear()
        top = max((p.score for p in picks), default=1.0) or 1.0  # bars relative to the worst frame
        for rank, pick in enumerate(picks, 1):
            why = "; ".join(pick.reasons) or ("spread: nothing flagged, checked for coverage"
                                               if pick.score == 0 else "uncertain")
            item = QTreeWidgetItem([str(rank), str(pick.frame), f"{pick.score:.2f}", why])
            item.setData(1, Qt.ItemDataRole.UserRole, pick.frame)
            item.setData(2, VALUE_ROLE, pick.score / top)
            item.setToolTip(3, why)
            for col in (0, 1):
                item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.tree.addTopLevelItem(item)
        self.empty.setVisible(not picks)
        self.tree.setVisible(bool(picks))
