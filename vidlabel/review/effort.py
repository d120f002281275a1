"""What a person's review costs, in seconds: one price list for the app, the CLI and the simulator.

The prices are the simulator's time model (`TimeModel`): draw 7 s (extreme clicking,
Papadopoulos et al. 2017), fix 4 s, delete 1 s, end 1 s, and 1 s of looking per object shown.
They live in the core, not in the simulator, because the stopping guidance and the project
statistics charge the action log with them too.

`human_seconds` charges a project's action log so that the app and the simulator count effort
the same way: one look (1 s) for every object a person was shown, plus the price of what they did
about it, and nothing for a box nobody saw.

| logged action | counted as |
|---|---|
| `draw`, `fix`, `delete`, `end`, `retrack` (priced as a fix) | one look at the box, and its price |
| `check`, `occluded`, any other box or track edit | one look |
| `accept` (a whole frame) | one look per box visible on it that no other action of this visit paid for |
| `delete track`, `delete stretch`, `accept stretch`, `wrong from here` | one look per crop shown (at least one), and the price |

(The `charge` and `looks` columns of `edits.MEANINGS` say which.) So a frame review costs one
look per box shown, whatever the person did with each, plus one per object drawn: what the
simulated annotator pays (tested against each other in `tests/test_simulate_loop.py`).

Every human action counts, undone ones too: the time was spent. A box looked at and left as it
is (one on a ground truth's ignore region, say) leaves no trace in the log, so the log cannot
charge that look; the simulator does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, fields

from ..store.project import HUMAN, Project
from .edits import meaning


@dataclass(frozen=True)
class TimeModel:
    """Seconds per action. `look` is paid once for every object looked at on a shown frame: each
    box shown and each object drawn. Defaults: draw by extreme clicking (Papadopoulos et al. 2017,
    7 s); `CONVENTIONAL` uses 35 s for a conventional drag-and-adjust drawing."""

    draw: float = 7.0
    fix: float = 4.0
    delete: float = 1.0
    end: float = 1.0
    look: float = 1.0
    check: float = 0.0      # accepting a box costs nothing beyond looking at it

    def seconds(self, actions: Mapping[str, int]) -> float:
        return float(sum(getattr(self, f.name) * actions.get(f.name, 0) for f in fields(self)))


EXTREME_CLICKING = TimeModel()
CONVENTIONAL = TimeModel(draw=35.0)
ACTION_KINDS = ("look", "check", "fix", "draw", "delete", "end")


def human_seconds(project: Project, model: TimeModel = EXTREME_CLICKING) -> float:
    """Seconds a person spent, from the action log (see the module docstring)."""
    counts: Counter = Counter()
    for action in project.actions(actor=HUMAN, state=None):
        m = meaning(action.kind)
        if m.looks == "frame":   # logs before `looks` was recorded: every box of the frame
            counts["look"] += int(action.detail.get("looks", action.detail.get("boxes", 1)))
        elif m.looks == "shown":
            counts["look"] += max(1, int(action.detail.get("shown", 1)))
        else:
            counts["look"] += 1
        if m.charge:
            counts[m.charge] += 1
    return model.seconds(counts)
