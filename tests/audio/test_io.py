"""Tests of dolphin.audio.io: round trips, metadata, atomic writes, start times, bad files."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dolphin.audio import io as audio_io
from dolphin.audio.io import Audio, audio_info, read_audio, write_audio
from dolphin.audio.names import parse_start_time
from dolphin.errors import AudioFileError

SR = 48000

# (suffix, format, subtype, quantisation step) for every format/subtype pair we support.
FORMATS = [
    (".wav", "WAV", "PCM_16", 2.0**-15),
    (".wav", "WAV", "PCM_24", 2.0**-23),
    (".wav", "WAV", "PCM_32", 2.0**-31),
    (".wav", "WAV", "FLOAT", 0.0),
    (".wav", "WAV", "DOUBLE", 0.0),
    (".wav", "WAVEX", "PCM_16", 2.0**-15),
    (".wav", "WAVEX", "PCM_24", 2.0**-23),
    (".wav", "WAVEX", "FLOAT", 0.0),
    (".wav", "RF64", "PCM_24", 2.0**-23),
    (".rf64", "RF64", "FLOAT", 0.0),
    (".w64", "W64", "PCM_24", 2.0**-23),
    (".w64", "W64", "PCM_16", 2.0**-15),
    (".flac", "FLAC", "PCM_16", 2.0**-15),
    (".flac", "FLAC", "PCM_24", 2.0**-23),
]
BIT_DEPTH = {"PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "FLOAT": 32, "DOUBLE": 64}


def _random_signal(n_channels: int, n_frames: int = 700) -> np.ndarray:
    rng = np.random.default_rng(n_channels)
    signal = rng.uniform(-1.0, 1.0, (n_channels, n_frames)).astype(np.float32)
    signal[:, :2] = [[1.0, -1.0]]  # full scale both ways
    return signal


@pytest.mark.parametrize("n_channels", [1, 4])
@pytest.mark.parametrize(("suffix", "fmt", "subtype", "step"), FORMATS)
def test_round_trip(tmp_path, suffix, fmt, subtype, step, n_channels):
    signal = _random_signal(n_channels)
    path = write_audio(
        tmp_path / f"x{suffix}", signal, SR, subtype=subtype, format=None if fmt == "WAV" else fmt
    )
    audio = read_audio(path)
    assert audio.samples.dtype == np.float32
    assert audio.samples.shape == (n_channels, 700)
    assert audio.sample_rate == SR and audio.start_frame == 0
    # One quantisation step, plus float32 rounding for 32-bit PCM.
    np.testing.assert_allclose(audio.samples, signal, rtol=0, atol=step + 1e-7)

    info = audio_info(path)
    assert (info.format, info.subtype) == (fmt, subtype)
    assert (info.sample_rate, info.n_channels, info.n_frames) == (SR, n_channels, 700)
    assert info.bit_depth == BIT_DEPTH[subtype]
    assert info.duration_s == pytest.approx(700 / SR)
    assert info.path == path


def test_default_subtype_and_mono_input(tmp_path):
    path = write_audio(tmp_path / "m.flac", np.zeros(100, np.float32) + 0.25, 96000)
    info = audio_info(path)
    assert (info.format, info.subtype, info.n_channels) == ("FLAC", "PCM_24", 1)
    assert audio_info(write_audio(tmp_path / "m.wav", np.zeros(10), 8000)).subtype == "PCM_24"


def test_read_window_and_channels(tmp_path, ramp_signal):
    path = write_audio(tmp_path / "r.wav", ramp_signal, SR, subtype="PCM_16")
    np.testing.assert_array_equal(read_audio(path).samples, ramp_signal)
    part = read_audio(path, channels=[3, 1], start_frame=100, n_frames=50)
    np.testing.assert_array_equal(part.samples, ramp_signal[[3, 1], 100:150])
    assert part.start_frame == 100 and part.start_s == pytest.approx(100 / SR)
    one = read_audio(path, channels=2)
    assert one.samples.shape == (1, 1001) and one.n_channels == 1 and one.n_frames == 1001
    tail = read_audio(path, start_frame=1000, n_frames=20)  # clipped to the end
    assert tail.n_frames == 1


def test_audio_dataclass_properties():
    audio = Audio(samples=np.zeros((2, 480), np.float32), sample_rate=48000, start_frame=4800)
    assert (audio.n_channels, audio.n_frames) == (2, 480)
    assert audio.duration_s == pytest.approx(0.01) and audio.start_s == pytest.approx(0.1)


def test_start_time_in_info(tmp_path):
    path = write_audio(tmp_path / "5783.190416123456.wav", np.zeros(10), SR)
    assert audio_info(path).start_time == datetime(2019, 4, 16, 12, 34, 56, tzinfo=timezone.utc)
    assert audio_info(write_audio(tmp_path / "x.wav", np.zeros(10), SR)).start_time is None


UTC = timezone.utc


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("5783.190416123456.wav", datetime(2019, 4, 16, 12, 34, 56, tzinfo=UTC)),
        ("/data/st/671399976.210101000000.wav", datetime(2021, 1, 1, tzinfo=UTC)),
        ("20190416_123456.WAV", datetime(2019, 4, 16, 12, 34, 56, tzinfo=UTC)),
        ("AM03_20190416_123456.wav", datetime(2019, 4, 16, 12, 34, 56, tzinfo=UTC)),
        ("SCW1807_20200711_085400.wav", datetime(2020, 7, 11, 8, 54, tzinfo=UTC)),
        (
            "PAM_20190416_123456_123.wav",
            datetime(2019, 4, 16, 12, 34, 56, 123000, tzinfo=UTC),
        ),
        ("PAM0_20190416_123456_007.wav", datetime(2019, 4, 16, 12, 34, 56, 7000, tzinfo=UTC)),
        ("rec_20190416_123456_123.wav", datetime(2019, 4, 16, 12, 34, 56, tzinfo=UTC)),
        ("site-A_20190416T123456Z.flac", datetime(2019, 4, 16, 12, 34, 56, tzinfo=UTC)),
        (
            "20190416T123456.250Z_hydrophone.wav",
            datetime(2019, 4, 16, 12, 34, 56, 250000, tzinfo=UTC),
        ),
        ("x20190416T123456y.wav", datetime(2019, 4, 16, 12, 34, 56, tzinfo=UTC)),
    ],
)
def test_parse_start_time(name, expected):
    parsed = parse_start_time(name)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "recording.wav",
        "20191332_123456.wav",  # month 13
        "20190416_256000.wav",  # hour 25
        "120190416_123456.wav",  # nine digits
        "99999999_999999.wav",
        "5783.1904161234.wav",  # too short for SoundTrap
        "....wav",
        "\x00\u00e9\U0001f42c.wav",
    ],
)
def test_parse_start_time_gives_none_for_odd_names(name):
    assert parse_start_time(name) is None


# --- atomic writer -----------------------------------------------------------------------------


def test_writer_leaves_no_temporary_files(tmp_path):
    write_audio(tmp_path / "a.wav", np.zeros((2, 100)), SR)
    write_audio(tmp_path / "a.wav", np.ones((2, 50)) * 0.5, SR)  # replaces
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav"]
    assert read_audio(tmp_path / "a.wav").n_frames == 50


def test_failed_write_keeps_old_file(tmp_path, monkeypatch):
    path = write_audio(tmp_path / "keep.wav", np.full((1, 100), 0.5), SR, subtype="PCM_16")
    before = path.read_bytes()

    def broken_write(self, data):
        raise OSError("disk full")

    monkeypatch.setattr(audio_io.sf.SoundFile, "write", broken_write)
    with pytest.raises(AudioFileError, match=r"keep\.wav.*writing failed.*disk full"):
        write_audio(path, np.zeros((1, 100)), SR)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.wav"]


def test_failed_rename_removes_temporary_file(tmp_path, monkeypatch):
    def broken_replace(src, dst):
        raise PermissionError("read-only target")

    monkeypatch.setattr(audio_io.os, "replace", broken_replace)
    with pytest.raises(AudioFileError, match="read-only target"):
        write_audio(tmp_path / "new.wav", np.zeros(10), SR)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_writer_refuses_non_finite(tmp_path, bad):
    samples = np.zeros((2, 10), np.float32)
    samples[1, 3] = bad
    with pytest.raises(AudioFileError, match=r"nan\.wav: refusing to write NaN or infinite"):
        write_audio(tmp_path / "nan.wav", samples, SR, subtype="FLOAT")
    assert list(tmp_path.iterdir()) == []


def test_writer_clip_policy(tmp_path):
    loud = np.array([[0.5, 1.5, -2.0]], np.float32)
    with pytest.raises(AudioFileError, match=r"loud\.wav: samples exceed full scale"):
        write_audio(tmp_path / "loud.wav", loud, SR, subtype="PCM_16")
    clipped = read_audio(write_audio(tmp_path / "loud.wav", loud, SR, clip=True)).samples
    np.testing.assert_allclose(clipped, [[0.5, 1.0, -1.0]], atol=2.0**-23)
    floats = read_audio(write_audio(tmp_path / "f.wav", loud, SR, subtype="FLOAT")).samples
    np.testing.assert_array_equal(floats, loud)


@pytest.mark.parametrize(
    ("name", "kwargs", "samples", "problem"),
    [
        ("x.mp4", {}, np.zeros(10), "cannot tell the format"),
        ("x.flac", {"subtype": "FLOAT"}, np.zeros(10), "cannot hold subtype FLOAT"),
        ("x.wav", {}, np.zeros((1, 2, 3)), "must be \\[C, T\\] or \\[T\\]"),
        ("x.wav", {}, np.zeros((2, 0)), "empty array"),
        ("x.wav", {}, np.zeros(10, np.int16), "floating point"),
    ],
)
def test_writer_rejects_bad_requests(tmp_path, name, kwargs, samples, problem):
    with pytest.raises(AudioFileError, match=problem) as err:
        write_audio(tmp_path / name, samples, SR, **kwargs)
    assert err.value.path.name == name


def test_writer_rejects_bad_sample_rate_and_directory(tmp_path):
    with pytest.raises(AudioFileError, match="sample_rate"):
        write_audio(tmp_path / "x.wav", np.zeros(10), 48000.0)
    with pytest.raises(AudioFileError, match="directory does not exist"):
        write_audio(tmp_path / "missing" / "x.wav", np.zeros(10), SR)


def test_rf64_with_wav_suffix(tmp_path):
    path = write_audio(tmp_path / "long.wav", np.zeros((2, 10)), SR, format="rf64")
    assert path.read_bytes()[:4] == b"RF64"
    assert audio_info(path).format == "RF64"


# --- bad files ----------------------------------------------------------------------------------


def _wav_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "good.wav"
    sf.write(path, np.zeros((100, 2)), SR, subtype="PCM_16")
    return path.read_bytes()


def _bad_file(tmp_path: Path, case: str) -> Path:
    path = tmp_path / f"{case}.wav"
    if case == "missing":
        return path
    if case == "directory":
        path.mkdir()
    elif case == "empty":
        path.touch()
    elif case == "truncated_header":
        path.write_bytes(_wav_bytes(tmp_path)[:30])
    elif case == "text":
        path.write_text("station,time,depth\nA,12:00,10\n" * 20)
    elif case == "zero_frames":
        sf.write(path, np.zeros((0, 2)), SR, subtype="PCM_16")
    return path


BAD_FILES = [
    ("missing", "file does not exist"),
    ("directory", "is a directory"),
    ("empty", r"file is empty \(0 bytes\)"),
    ("truncated_header", "truncated or corrupt header"),
    ("text", "not an audio file"),
    ("zero_frames", "zero frames"),
]


@pytest.mark.parametrize(("case", "problem"), BAD_FILES)
@pytest.mark.parametrize("reader", [read_audio, audio_info])
def test_bad_files_raise_audio_file_error(tmp_path, case, problem, reader):
    path = _bad_file(tmp_path, case)
    with pytest.raises(AudioFileError, match=problem) as err:
        reader(path)
    assert f"{case}.wav" in str(err.value)
    assert err.value.path == path
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_float_file(tmp_path, bad):
    path = tmp_path / "float.wav"
    data = np.zeros((100, 2), np.float32)
    data[42, 1] = bad
    sf.write(path, data, SR, subtype="FLOAT")
    with pytest.raises(AudioFileError, match=r"float\.wav: holds NaN or infinite.*frame 42, ch"):
        read_audio(path)
    assert read_audio(path, n_frames=40).n_frames == 40  # the bad frame is not read
    assert np.isnan(read_audio(path, check_finite=False).samples).any() == np.isnan(bad)


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"channels": 4}, "channel index 4 out of range for a 4-channel file"),
        ({"channels": [0, -1]}, "channel index -1 out of range"),
        ({"channels": []}, "no channels selected"),
        ({"start_frame": 1001}, "start_frame 1001 is beyond the end of the file"),
        ({"start_frame": 1001 + 10**6}, "beyond the end"),
        ({"start_frame": -1}, "start_frame must be >= 0"),
        ({"n_frames": 0}, "n_frames must be positive"),
    ],
)
def test_bad_read_requests(tmp_path, ramp_signal, kwargs, problem):
    path = write_audio(tmp_path / "four.wav", ramp_signal, SR)
    with pytest.raises(AudioFileError, match=problem) as err:
        read_audio(path, **kwargs)
    assert "four.wav" in str(err.value)
