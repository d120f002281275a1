"""Recreate assets/sample.mp4 and assets/sample_gt.txt from the PETS09-S2L1 sequence.

Frames 100..179 (0-based) of ../shared/data/PETS09-S2L1/video.mp4, re-encoded with libx264
(crf 30, no B-frames), and the MOTChallenge ground-truth rows of those frames renumbered to 1..80.
Run: python assets/make_sample.py [PETS09 folder]
"""

import sys
from fractions import Fraction
from pathlib import Path

import av

START, COUNT = 100, 80
here = Path(__file__).resolve().parent
src = Path(sys.argv[1]) if len(sys.argv) > 1 else here.parent.parent / "shared" / "data" / "PETS09-S2L1"

with av.open(str(src / "video.mp4")) as inp, av.open(str(here / "sample.mp4"), "w") as out:
    stream = out.add_stream("libx264", rate=Fraction(7, 1))
    stream.width, stream.height, stream.pix_fmt = 768, 576, "yuv420p"
    stream.options = {"crf": "30", "bf": "0", "g": "28"}
    for i, frame in enumerate(inp.decode(video=0)):
        if START <= i < START + COUNT:
            img = frame.to_ndarray(format="rgb24")
            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
    out.mux(stream.encode())

rows = []
for line in (src / "gt" / "gt.txt").read_text().splitlines():
    f = line.split(",")
    frame = int(f[0])
    if START < frame <= START + COUNT:
        rows.append(",".join([str(frame - START)] + f[1:]))
rows.sort(key=lambda r: (int(r.split(",")[0]), int(r.split(",")[1])))
(here / "sample_gt.txt").write_text("\n".join(rows) + "\n")
print(f"wrote {COUNT} frames and {len(rows)} ground-truth rows")
