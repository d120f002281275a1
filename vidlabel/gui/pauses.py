"""Process settings that keep the UI thread from pausing while the session's workers run Python.

Workers compute off the UI thread, but in CPython two things still make the UI thread wait for
them, each measured on a 100,000-box project with `benchmarks/bench_app.py`:

* **The GIL switch interval.** A thread that releases the GIL (every SQLite call, every decoded
  packet: a seek decodes up to a whole GOP) waits up to `sys.getswitchinterval()` (5 ms) to get it
  back from a busy worker. A step makes dozens of such calls, so while the session scored the
  project a step took up to 290 ms. The app uses SWITCH_INTERVAL instead.
* **Full garbage collections.** The cyclic collector walks every container object of the
  process while holding the GIL. The session's in-memory mirror of 100,000 boxes and their
  scores is about a million of them: each full collection took 70-280 ms, in whichever thread
  happened to allocate. The app therefore suspends automatic collection while a session builds
  its mirror (the start-up scoring, seconds) and then freezes what exists (`gc.freeze`: moved to
  a generation that collections skip), so later collections walk only what was made since.
  Starting the next session first unfreezes and collects once, so a closed session's cycles are
  freed.
"""

from __future__ import annotations

import gc
import sys

SWITCH_INTERVAL = 0.001  # seconds; CPython's default is 0.005


def set_switch_interval() -> None:
    sys.setswitchinterval(SWITCH_INTERVAL)


def hold_collections() -> None:
    """Before a session builds its mirror: collect what earlier sessions left, then pause."""
    gc.unfreeze()
    gc.collect()
    gc.disable()


def resume_collections() -> None:
    """Once the mirror is built (or the session is gone): freeze it and collect again as usual."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
