"""What a person's review costs, in seconds: one price list for the app, the CLI and the simulator.

The prices are the simulator's time model (`TimeModel`): draw 7 s (extreme clicking,
Papadopoulos et al. 2017), fix 4 s, delete 1 s, end 1 s, and 1 s of looking per object shown.
They live in the core, not in the simulator, because the stopping guidance and the project
statistics charge the action log with them too.

`human_seconds` charges a project's action log so that the app and the simulator count effort
the same way:

| logged action | counted as |
|---|---|
| `draw`, `fix`, `delete`, `end` | one of that kind |
| `check` (accept one box) | one look |
| `accept` (a whole frame) | one look per box on the frame (at least one) |
| anything else (class, retrack, merge, split, occluded, interpolate, propagate) | one look |

(The `charge` column of `edits.MEANINGS` says which.)

Every human action counts, undone ones too: the time was spent.
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
        charge = meaning(action.kind).charge
        if charge == "per box":
            counts["look"] += max(1, int(action.detail.get("boxes", 0)))
        else:
            counts[charge] += 1
    return model.seconds(counts)

