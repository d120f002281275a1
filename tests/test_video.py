"""Random access must return exactly the pixels of a sequential decode, in any access order."""

from __future__ import annotations

import random
import zlib

import av
import numpy as np
import pytest

from vidlabel.errors import VideoError
from vidlabel.video import ImageFolder, VideoFile, open_video

from .conftest import SAMPLE, synthetic_frames


def sequential(path) -> list[np.ndarray]:
    """The reference: a plain PyAV decode of every frame, in order."""
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]


def assert_random_access_exact(path, seed: int = 0) -> None:
    ref = sequential(path)
    order = list(range(len(ref)))
    random.Random(seed).shuffle(order)
    # Also the access patterns of a person: backward stepping and big jumps.
    order += list(range(len(ref) - 1, -1, -1)) + [0, len(ref) - 1, len(ref) // 2, 1]
    with VideoFile(path, cache_bytes=8 * ref[0].nbytes) as v:  # small cache: force real seeks
        assert v.frame_count == len(ref)
        for i in order:
            assert np.array_equal(v.frame(i), ref[i]), \
                f"frame {i} differs from sequential decode (seek order seed {seed})"


def test_sample_random_access_is_exact():
    assert_random_access_exact(SAMPLE)


@pytest.mark.parametrize("kind", ["bframes", "opengop", "vfr", "mjpeg"])
def test_hard_clips_random_access_is_exact(clips, kind):
    assert_random_access_exact(clips[kind], seed=zlib.crc32(kind.encode()))  # the same every run


def test_generated_clips_really_are_hard(clips):
    """Guard the fixture: the B-frame clip reorders frames and the VFR clip has uneven gaps."""
    with av.open(str(clips["bframes"])) as c:
        packets = [p for p in c.demux(video=0) if p.size]
    assert any(p.pts != p.dts for p in packets), "no reordered (B) frames"
    with av.open(str(clips["vfr"])) as c:
        pts = sorted(p.pts for p in c.demux(video=0) if p.size)
    assert len(set(np.diff(pts))) > 5, "frame rate is not variable"
    with av.open(str(clips["opengop"])) as c:
        keys = [p for p in c.demux(video=0) if p.size and p.is_keyframe]
    assert len(keys) >= 5


def test_frame_count_comes_from_the_index_not_the_container(clips):
    with VideoFile(clips["vfr"]) as v:
        assert v.frame_count == 120


def test_cached_index_gives_same_frames(clips):
    with VideoFile(clips["bframes"]) as v:
        blob = v.index_bytes
        f37 = v.frame(37).copy()
    with VideoFile(clips["bframes"], index=blob) as v:
        assert v.frame_count == 120
        assert np.array_equal(v.frame(37), f37)


def test_frames_iterator_matches_sequential(clips):
    ref = sequential(clips["opengop"])
    with open_video(clips["opengop"]) as v:
        got = dict(v.frames(10, 50))
    assert sorted(got) == list(range(10, 50))
    assert all(np.array_equal(got[i], ref[i]) for i in got)


@pytest.mark.parametrize("kind", ["bframes", "opengop", "vfr", "mjpeg"])
def test_a_few_frames_of_many_are_exact_and_only_they_are_converted(clips, kind):
    """`frames_at` (an export with --every N): exact pixels, and the frames decoded on the way
    are neither converted nor kept."""
    ref = sequential(clips[kind])
    wanted = [3, 4, 40, 41, 77, 119]
    with VideoFile(clips[kind]) as v:
        converted = []
        convert = v._to_bgr
        v._to_bgr = lambda frame: converted.append(1) or convert(frame)
        got = list(v.frames_at(wanted))
    assert [i for i, _ in got] == wanted
    assert all(np.array_equal(image, ref[i]) for i, image in got)
    assert len(converted) == len(wanted)


def test_image_folder(tmp_path):
    import cv2

    frames = synthetic_frames(12)
    for i, f in enumerate(frames):
        cv2.imwrite(str(tmp_path / f"{i + 1}.png"), f)  # natural order: 2.png before 10.png
    with open_video(tmp_path) as v:
        assert isinstance(v, ImageFolder)
        assert v.frame_count == 12
        assert np.array_equal(v.frame(9), frames[9])


def test_an_image_of_another_size_in_a_folder_is_one_clear_error(tmp_path):
    """Detections on a smaller image used to be stored in its own pixels under the folder's size."""
    import cv2

    for i, f in enumerate(synthetic_frames(4)):
        cv2.imwrite(str(tmp_path / f"{i + 1}.png"), f if i != 2 else cv2.resize(f, (80, 48)))
    with pytest.raises(VideoError, match="image is 80x48 but the folder's first image is 160x96") as err:
        open_video(tmp_path)   # at open (from the image headers), before anything is written
    assert "3.png" in str(err.value)


def test_rotation_metadata_is_honoured(tmp_path):
    frames = synthetic_frames(10, width=64, height=32)
    path = tmp_path / "rotated.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 32, "yuv420p"
        stream.set_display_rotation(90)
        for img in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")))
        out.mux(stream.encode())
    with VideoFile(path) as v:
        assert v.rotation in (90, 270)
        assert (v.width, v.height) == (32, 64)
        assert v.frame(3).shape == (64, 32, 3)


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing.mp4", "not found"),
    (lambda p: _write(p / "empty.mp4", b""), "not a readable video"),
    (lambda p: _write(p / "text.mp4", b"hello, not a video"), "not a readable video"),
    (lambda p: _write(p / "img.png", b"x"), "not a video"),
    (lambda p: (p / "nothing").mkdir() or p / "nothing", "holds no images"),
])
def test_bad_video_gives_clear_error(tmp_path, make, message):
    with pytest.raises(VideoError, match=message):
        open_video(make(tmp_path))


def test_zero_frame_video(tmp_path):
    path = tmp_path / "zero.mp4"
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 64, "yuv420p"
        out.mux(s.encode())
    with pytest.raises(VideoError):
        open_video(path)


def test_a_truncated_video_is_one_clear_error_naming_it(tmp_path):
    """The sample keeps its index (moov) at the end, so its first third is no readable video."""
    data = SAMPLE.read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(VideoError, match="not a readable video") as exc:
        open_video(path)
    assert str(path) in str(exc.value) and sorted(tmp_path.iterdir()) == [path]


def test_out_of_range_frame(clips):
    with VideoFile(clips["mjpeg"]) as v, pytest.raises(VideoError, match="out of range"):
        v.frame(120)
