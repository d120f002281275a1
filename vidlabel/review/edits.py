"""What each kind of human edit (`datamodel.EditKind`) means for the rest of the review loop.

Every correction is logged under its kind (`Project.action(kind, HUMAN)`), and four parts of
vidlabel read the kind back: the review session (re-propagate after it? rescore one frame or the
whole track?), the stopping guidance (did the person say the box was wrong?), the effort
accounting (what did it cost?) and the simulator (which correction does a decision make?). They
all read this table, so a new kind of edit is one enum member and one row here, not a string
in five modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..datamodel import Box, EditKind


@dataclass(frozen=True)
class Edit:
    """What one correction changed: the action id (for undo), and the tracks and frames touched."""

    action_id: int
    kind: EditKind
    frame: int
    track_ids: tuple[int, ...] = ()
    boxes: tuple[Box, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class EditMeaning:
    """What an edit of one kind implies for the rest of the loop.

    `repropagates`: the track is re-propagated around the edit. Not after a delete (it would put
    the deleted box back), a class change (no geometry changed), a split (it would grow the old
    track into the new one), an interpolation (the person chose the boxes), or a check or accept
    (a confirmation invalidates nothing: re-propagation only repairs what a correction
    invalidated, `repair.repair`).
    `one_frame`: the edit changes boxes on its own frame only, so rescoring re-reads that frame.
    `error` / `says_right`: the verdict on the machine box it touched, for the error model. The
    error is the kind the quality metric tells apart (`error_model.ERRORS`): "misplaced" (a fix:
    the box is on its object but off, so a false box and a missed object), "false" (a delete:
    on nothing wanted, a false box only), "identity" (a re-track or split: in the right place
    under another object's track, so its object is missed under its own); "" for no error.
    `charge`: the price of the time model it costs besides looking (`effort.TimeModel` field),
    "" for none. `looks`: what the person looked at to decide it, one second each: "box" (the
    box it is about), "frame" (every box shown on the frame that no other action of this visit
    paid for: `detail["looks"]`), "shown" (the crops of a track pick, `detail["shown"]`).
    """

    repropagates: bool = False
    one_frame: bool = False
    error: str = ""
    says_right: bool = False
    charge: str = ""
    looks: str = "box"

    @property
    def says_wrong(self) -> bool:
        return bool(self.error)


MEANINGS: dict[EditKind, EditMeaning] = {
    EditKind.DRAW: EditMeaning(repropagates=True, one_frame=True, charge="draw"),
    EditKind.FIX: EditMeaning(repropagates=True, one_frame=True, error="misplaced", charge="fix"),
    EditKind.CHECK: EditMeaning(one_frame=True, says_right=True),
    EditKind.DELETE: EditMeaning(error="false", charge="delete"),   # a duplicate run: more frames
    EditKind.OCCLUDED: EditMeaning(repropagates=True, one_frame=True),
    EditKind.CLASS: EditMeaning(),
    EditKind.RETRACK: EditMeaning(repropagates=True, one_frame=False, error="identity", charge="fix"),
    EditKind.MERGE: EditMeaning(repropagates=True),
    EditKind.SPLIT: EditMeaning(error="identity", charge="fix", looks="shown"),
    EditKind.END: EditMeaning(repropagates=True, charge="end"),
    EditKind.ACCEPT: EditMeaning(one_frame=True, says_right=True, looks="frame"),
    EditKind.INTERPOLATE: EditMeaning(),
    EditKind.DELETE_TRACK: EditMeaning(error="false", charge="delete", looks="shown"),
    EditKind.DELETE_TRACKS: EditMeaning(error="false", charge="delete", looks="shown"),
    EditKind.DELETE_STRETCH: EditMeaning(error="false", charge="delete", looks="shown"),
    EditKind.ACCEPT_STRETCH: EditMeaning(says_right=True, looks="shown"),
    # a tail on nothing is false; one moved to another track (the app's "tail to another track")
    # is an identity error, which the kind does not tell apart: the commoner of the two is taken
    EditKind.WRONG_FROM_HERE: EditMeaning(error="false", charge="fix", looks="shown"),
    EditKind.PROPAGATE: EditMeaning(repropagates=True, one_frame=True),
    EditKind.ADD_CLASS: EditMeaning(),
    EditKind.RENAME_CLASS: EditMeaning(),
    EditKind.MERGE_CLASS: EditMeaning(),
}
LOOK = EditMeaning()  # an action of a kind not in the table (an import, say): one look


def meaning(kind: str) -> EditMeaning:
    """The meaning of a logged kind; a kind this vidlabel does not know costs one look."""
    try:
        return MEANINGS[EditKind(kind)]
    except ValueError:
        return LOOK
