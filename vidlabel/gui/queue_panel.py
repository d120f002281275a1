"""The review queue: the frames the machine is least sure of, best first, with why, and the
walk through it (next, previous) that shows a person what each pick means."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import QHeaderView, QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from .bars import VALUE_ROLE, BarDelegate
from .theme import heat_colour

if TYPE_CHECKING:
    from .controller import Controller


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
        self.tree.setItemDelegateForColumn(2, BarDelegate(heat_colour, self.tree))
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

    def highlight(self, frame: int) -> None:
        """Mark the row of the pick on `frame` (none if the frame is not in the queue)."""
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(1, Qt.ItemDataRole.UserRole) == frame:
                self.tree.setCurrentItem(item)
                self.tree.scrollToItem(item)
                return
        self.tree.clearSelection()


class QueueWalker:
    """Next and previous queue item, as a person walks the queue: each jump selects the box the
    pick is about (a box pick's, or the frame's most uncertain one), marks its row and says in
    the status bar why it was picked and how uncertain it is."""

    def __init__(self, c: "Controller", panel: QueuePanel, say: Callable[[str], None]) -> None:
        self.c, self.panel, self.say = c, panel, say
        self.visited: list[int] = []   # frames left by a queue jump, for "previous queue item"
        panel.frameChosen.connect(self.go_to_frame)

    def next(self) -> None:
        """Go to the best pick not yet verified. The queue on hand is used as it is (ranking runs
        in the session's worker); frames verified since it was ranked are skipped."""
        if not self.c.ready:
            self.say("the review queue is not ranked yet: the project is still being scored")
            return
        verified = set(self.c.verified_frames())
        for rank, pick in enumerate(self.c.picks, 1):
            if pick.frame != self.c.frame and pick.frame not in verified:
                self.visited.append(self.c.frame)
                self._show(rank, pick)
                return
        self.say("the review queue is empty")

    def previous(self) -> None:
        if not self.visited:
            self.say("no earlier queue item")
            return
        self.go_to_frame(self.visited.pop(), remember=False)

    def go_to_frame(self, frame: int, remember: bool = True) -> None:
        """A click on a queue row (or a step back): the pick on that frame, or just the frame."""
        if remember:
            self.visited.append(self.c.frame)
        for rank, pick in enumerate(self.c.picks, 1):
            if pick.frame == frame:
                self._show(rank, pick)
                return
        self.c.seek(frame)
        self.c.select(None)
        self.c.set_track_pick(None)
        self.panel.highlight(frame)

    def _show(self, rank: int, pick) -> None:
        self.c.seek(pick.frame)
        self.c.select(pick.flagged_track)   # nothing selected from before survives the jump
        self.c.set_track_pick(pick)         # a track pick's crops appear in the filmstrip
        self.panel.highlight(pick.frame)
        why = "; ".join(pick.reasons) or "spread: checked for coverage"
        about = f" · track {pick.flagged_track}" if pick.flagged_track is not None else ""
        self.say(f"queue #{rank} of {len(self.c.picks)} · frame {pick.frame} · score "
                 f"{pick.score:.2f}{about} · {why}")
