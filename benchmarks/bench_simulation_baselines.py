"""The simulation's baselines on the whole of PETS09-S2L1, against the fully manual cost.

Prints, for each baseline, the human seconds to quality 0.95 and 0.99 (7 s and 35 s a drawn box),
the final quality and the actions, next to fully manual annotation (the sanity figure: 4,476
draws and 4,476 looks, 35,808 s). The loop's strategies are not here: they need the review
session and take far longer; `vidlabel simulate` runs everything (docs/BENCHMARKS.md).

Run: python benchmarks/bench_simulation_baselines.py [PETS09 folder] [--tracker]
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vidlabel.review.effort import CONVENTIONAL  # noqa: E402
from vidlabel.simulation import baselines as B  # noqa: E402
from vidlabel.simulation.annotator import SimulatedAnnotator  # noqa: E402
from vidlabel.simulation.curves import seconds_to  # noqa: E402
from vidlabel.simulation.groundtruth import load_ground_truth  # noqa: E402
from vidlabel.video import open_video  # noqa: E402

args = [a for a in sys.argv[1:] if not a.startswith("--")]
root = Path(args[0]) if args else Path(__file__).resolve().parents[2] / "shared" / "data" / "PETS09-S2L1"
with open_video(root / "video.mp4") as video:
    gt = load_ground_truth(root / "gt" / "gt.txt", video.frame_count, size=(video.width, video.height))
    runs = {
        "manual": lambda: B.fully_manual(gt, SimulatedAnnotator),
        "interpolation-5": lambda: B.fixed_interpolation(gt, SimulatedAnnotator, 5),
        "interpolation-10": lambda: B.fixed_interpolation(gt, SimulatedAnnotator, 10),
        "interpolation-30": lambda: B.fixed_interpolation(gt, SimulatedAnnotator, 30),
        "adaptive-interpolation": lambda: B.adaptive_interpolation(gt, SimulatedAnnotator),
    }
    if "--tracker" in sys.argv:
        runs["tracker-only"] = lambda: B.tracker_only(gt, SimulatedAnnotator, video)
    manual = B.manual_cost(gt, SimulatedAnnotator)
    print(f"PETS09-S2L1: {gt.frame_count} frames, {gt.box_count()} scored boxes; "
          f"fully manual {manual:,.0f} s")
    print(f"{'baseline':<24}{'s to 0.95':>11}{'s to 0.99':>11}{'(35 s draw)':>13}{'quality':>9}"
          f"{'% manual':>10}  actions (wall s)")
    for name, run in runs.items():
        t = time.perf_counter()
        r = run()
        xy = r.curve.xy()
        s99 = seconds_to(xy, 0.99)
        s95 = seconds_to(xy, 0.95)
        c99 = seconds_to(r.curve.xy(CONVENTIONAL), 0.99)
        fmt = lambda v: "never" if v is None else f"{v:,.0f}"  # noqa: E731
        share = "-" if s99 is None else f"{100 * s99 / manual:.1f}"
        print(f"{name:<24}{fmt(s95):>11}{fmt(s99):>11}{fmt(c99):>13}{r.curve.final.quality:>9.4f}"
              f"{share:>10}  {dict(r.annotator.actions)} ({time.perf_counter() - t:.0f})")
