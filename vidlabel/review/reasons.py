"""The review queue's words: why a box or a frame is worth a look.

Formatted only when shown (most scores are never read by a person), from the signals alone.
"""

from __future__ import annotations

from collections.abc import Mapping

from .signals import DROP_SCALE, BoxScore, FrameState


def reason_text(box: BoxScore, signal: str) -> str:
    """One signal of one box in words."""
    t, s = box.track_id, box.signals
    if signal == "disagreement":
        if s.get("no_detection"):
            return f"track {t} has no detection here"
        return f"track {t} disagrees with its detection (IoU {1 - s['disagreement']:.2f})"
    return {
        "margin": f"track {t}: two classes nearly tied",
        "tracker_lost": f"track {t} is interpolated here (nothing followed it)",
        "tracker_drop": f"tracker confidence of track {t} fell by {s.get('tracker_drop', 0) * DROP_SCALE:.2f}",
        "birth": f"track {t} begins",
        "death": f"track {t} ends",
        "least_confidence": f"low confidence ({box.confidence:.2f}) on track {t}",
    }[signal]



def box_reasons(box: BoxScore, n: int = 3, at_least: float = 0.0) -> list[str]:
    """The `n` strongest reasons of a box in words."""
    return [reason_text(box, name) for strength, name in box.reasons[:n] if strength >= at_least]


def frame_reasons(state: FrameState, weights: Mapping[str, float], limit: int = 4) -> list[str]:
    """The strongest few reasons in words; boxes near the threshold, and boxes far from any
    checked frame, are counted together."""
    items: list[tuple[float, str]] = []
    for signal, text in (("near_threshold", "near threshold"),
                         ("far_from_keyframe", "far from a checked frame")):
        values = [b.signals[signal] for b in state.boxes if b.signals.get(signal, 0.0) >= 0.5]
        if values:
            items.append((weights[signal] * max(values),
                          f"{len(values)} box{'es' if len(values) > 1 else ''} {text}"))
    for b in state.boxes:
        items += [(strength, reason_text(b, name)) for strength, name in b.reasons[:2] if strength >= 0.15]
    items += [(weights[s.name] * s.value, s.reason) for s in state.extra]
    seen, out = set(), []
    for _, text in sorted(items, key=lambda r: -r[0]):
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out[:limit]
