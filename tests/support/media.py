"""Real media files for tests, made by ffmpeg."""

from __future__ import annotations

import subprocess
from pathlib import Path


def make_video(path: Path, *, seconds: int = 3, audio: bool = True, size: str = "640x360") -> Path:
    """A few seconds of real video: ffmpeg's test pattern, with a sine tone."""
    args = ["ffmpeg", "-nostdin", "-y", "-v", "error", "-f", "lavfi", "-i"]
    args.append(f"testsrc=size={size}:rate=25:duration={seconds}")
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-shortest"]
    subprocess.run([*args, str(path)], check=True)
    return path


def make_image(path: Path, *, size: str = "64x48") -> Path:
    """One real picture (PNG or JPEG by the path's suffix)."""
    args = ["ffmpeg", "-nostdin", "-y", "-v", "error", "-f", "lavfi", "-i", f"testsrc=size={size}"]
    subprocess.run([*args, "-frames:v", "1", str(path)], check=True)
    return path


def make_audio(path: Path, *, seconds: int = 1) -> Path:
    args = ["ffmpeg", "-nostdin", "-y", "-v", "error", "-f", "lavfi", "-i"]
    subprocess.run([*args, f"sine=frequency=440:duration={seconds}", str(path)], check=True)
    return path
