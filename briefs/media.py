"""Video, audio and image work with ffmpeg, and files through Django's storage API.

ffmpeg runs as a child process that the job's context can stop: a cancelled or timed-out job
kills its ffmpeg at the next check (every half second).

Every input ffmpeg or ffprobe opens is locked down (:func:`harden`): only the ``file``
protocol, and only demuxers that read one self-contained file (:data:`PLAIN_FORMATS`). Playlists
(HLS, DASH), ``concat`` lists, image sequences, subtitle files and every network protocol follow
references to other files or URLs; none of them can be reached from a user's file, whatever its
name or declared kind.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from django.core.exceptions import SuspiciousFileOperation
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.files.utils import validate_file_name

from briefs import conf
from jobs.exceptions import PermanentError
from jobs.redact import public_text

if TYPE_CHECKING:
    from jobs.context import JobContext

SLIM_FPS = 1
SLIM_HEIGHT = 720
SLIM_CRF = 32


class MediaError(PermanentError):
    """A media file is missing, unreadable or not what it claims to be."""


#: Demuxers (ffmpeg's names) that read one self-contained file of each kind. None of them
#: opens another file or URL: no playlists, no concat lists, no image sequences.
VIDEO_FORMATS = ("mov", "matroska", "avi", "flv", "mpegts", "mpeg", "ogg", "asf")
AUDIO_FORMATS = ("mp3", "wav", "ogg", "flac", "aac", "mov", "matroska", "asf")
IMAGE_FORMATS = ("png_pipe", "jpeg_pipe", "webp_pipe", "gif", "bmp_pipe", "tiff_pipe")
FORMATS_BY_KIND = {"video": VIDEO_FORMATS, "audio": AUDIO_FORMATS, "image": IMAGE_FORMATS}
PLAIN_FORMATS = tuple(dict.fromkeys(VIDEO_FORMATS + AUDIO_FORMATS + IMAGE_FORMATS))
_FORMAT_LABELS = {
    "mov": "MP4/MOV/M4A",
    "matroska": "MKV/WebM",
    "avi": "AVI",
    "flv": "FLV",
    "mpegts": "MPEG-TS",
    "mpeg": "MPEG-PS",
    "ogg": "Ogg",
    "asf": "WMV/WMA",
    "mp3": "MP3",
    "wav": "WAV",
    "flac": "FLAC",
    "aac": "AAC",
    "png_pipe": "PNG",
    "jpeg_pipe": "JPEG",
    "webp_pipe": "WebP",
    "gif": "GIF",
    "bmp_pipe": "BMP",
    "tiff_pipe": "TIFF",
}
#: The only protocol an input may use: a local file, never a URL or a pipe to somewhere else.
PROTOCOLS = "file"


#: How each image format starts, and the demuxer that reads exactly one such picture.
_IMAGE_DEMUXERS = (
    (b"\x89PNG\r\n\x1a\n", "png_pipe"),
    (b"\xff\xd8\xff", "jpeg_pipe"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp_pipe"),
    (b"II*\x00", "tiff_pipe"),
    (b"MM\x00*", "tiff_pipe"),
)
#: How each image format starts (an upload declared as an image must start so).
IMAGE_MAGIC = tuple(magic for magic, _ in _IMAGE_DEMUXERS)


def image_demuxer(head: bytes) -> str | None:
    """The demuxer for a picture that starts with ``head``; None when it is no image we read."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp_pipe"
    return next((demuxer for magic, demuxer in _IMAGE_DEMUXERS if head.startswith(magic)), None)


def input_options(
    formats: tuple[str, ...] = PLAIN_FORMATS, *, path: Path | None = None
) -> list[str]:
    """The options that go before an input: only local files, only plain demuxers. A picture
    gets its demuxer named: ffmpeg's guess from a file name such as ``photo.jpg`` is ``image2``,
    which reads sequences of files and is not allowed, so the file would be refused."""
    options = ["-protocol_whitelist", PROTOCOLS, "-format_whitelist", ",".join(formats)]
    demuxer = image_demuxer(_head(path)) if path is not None else None
    if demuxer in formats:
        options += ["-f", demuxer]
    return options


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(16)
    except OSError:  # not a local file (yet): ffmpeg says so itself
        return b""


def harden(args: list[str]) -> list[str]:
    """``args`` with every input locked down. An ``-i`` without its own ``-protocol_whitelist``
    gets :func:`input_options` (the demuxer whitelist is left out only where the command
    forces an internal demuxer with ``-f``, as for ``lavfi`` test sources and our own frame
    sequences); an ffprobe command gets them before its file. So no call site, in this module
    or elsewhere, can forget them."""
    if not args:
        return args
    if Path(args[0]).name.startswith("ffprobe") or args[0] == conf.ffprobe():
        if "-protocol_whitelist" in args:
            return list(args)
        return [args[0], *input_options(path=Path(args[-1])), *args[1:]]
    hardened: list[str] = []
    segment: list[str] = []  # the options given since the previous input
    for index, arg in enumerate(args):
        if arg == "-i" and len(hardened) > 0:
            if "-protocol_whitelist" not in segment:
                if "-f" in segment:
                    hardened += ["-protocol_whitelist", PROTOCOLS]
                else:
                    source = args[index + 1] if index + 1 < len(args) else ""
                    hardened += input_options(path=Path(source) if source else None)
            hardened.append(arg)
            segment = []
            continue
        hardened.append(arg)
        segment.append(arg)
    return hardened


@dataclass(frozen=True)
class Probe:
    duration: float
    width: int
    height: int
    has_video: bool
    has_audio: bool
    format: str

    def as_dict(self) -> dict[str, object]:
        return {
            "duration": round(self.duration, 3),
            "width": self.width,
            "height": self.height,
            "has_video": self.has_video,
            "has_audio": self.has_audio,
            "format": self.format,
        }


def run(args: list[str], *, ctx: JobContext | None, what: str, timeout: float = 3600) -> str:
    return run_bytes(args, ctx=ctx, what=what, timeout=timeout).decode(errors="replace")


def run_bytes(
    args: list[str], *, ctx: JobContext | None, what: str, timeout: float = 3600
) -> bytes:
    """Run ffmpeg/ffprobe; stop it when the job stops; raise MediaError with its last words."""
    args = harden(args)
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    out, _ = process.communicate(timeout=0.5)
                    break
                except subprocess.TimeoutExpired:
                    if ctx is not None:
                        ctx.check()
                    if time.monotonic() > deadline:
                        raise MediaError(f"{what} took longer than {timeout:g}s") from None
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        if process.returncode != 0:
            err.seek(0)
            tail = [
                scrub(line) for line in err.read().decode(errors="replace").strip().splitlines()
            ][-3:]
            raise MediaError(f"{what} failed: {' / '.join(tail) or f'exit {process.returncode}'}")
    return out


def scrub(text: str) -> str:
    """ffmpeg's words without what a user must not see: its ``[hls @ 0x55…]`` prefixes and
    memory addresses, and the server's own folders (a file is named by its last part)."""
    return public_text(text)


def probe(
    path: Path,
    *,
    ctx: JobContext | None = None,
    name: str = "",
    formats: tuple[str, ...] = PLAIN_FORMATS,
) -> Probe:
    """What a media file holds, or MediaError saying it cannot be read. Only the demuxers in
    ``formats`` may read it."""
    label = name or path.name
    if not path.exists() or path.stat().st_size == 0:
        raise MediaError(f"The file {label!r} is missing or empty.")
    try:
        out = run(
            [
                conf.ffprobe(),
                *input_options(formats, path=path),
                "-v",
                "error",
                "-print_format",
                "json",
                "-show_format",
                "-show_streams",
                str(path),
            ],
            ctx=ctx,
            what=f"Reading {label!r}",
            timeout=120,
        )
    except MediaError:
        raise MediaError(
            f"{label!r} is not a media file ffmpeg can read, or not of a kind we accept "
            f"(allowed formats: "
            f"{', '.join(_FORMAT_LABELS.get(f, f) for f in formats)})."
        ) from None
    info = json.loads(out or "{}")
    streams = info.get("streams", [])
    video = next(
        (
            s
            for s in streams
            if s.get("codec_type") == "video"
            and not (s.get("disposition") or {}).get("attached_pic")
        ),
        None,
    )
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    fmt = info.get("format", {})
    duration = _float(fmt.get("duration")) or _float((video or audio or {}).get("duration"))
    return Probe(
        duration=duration,
        width=int((video or {}).get("width") or 0),
        height=int((video or {}).get("height") or 0),
        has_video=video is not None,
        has_audio=audio is not None,
        format=str(fmt.get("format_name", "")),
    )


def probe_video(path: Path, *, ctx: JobContext | None = None, name: str = "") -> Probe:
    info = probe(path, ctx=ctx, name=name)
    if not info.has_video or info.duration <= 0:
        raise MediaError(f"{name or path.name!r} has no video stream to work from.")
    return info


def make_slim(source: Path, target: Path, *, ctx: JobContext | None) -> None:
    """The slim copy: 1 fps, at most 720 lines high, H.264 CRF 32; audio kept (AAC)."""
    run(
        [
            conf.ffmpeg(),
            "-nostdin",
            "-y",
            "-v",
            "error",
            "-i",
            str(source),
            "-vf",
            f"fps={SLIM_FPS},scale=-2:'trunc(min({SLIM_HEIGHT},ih)/2)*2'",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            str(SLIM_CRF),
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "64k",
            "-movflags",
            "+faststart",
            str(target),
        ],
        ctx=ctx,
        what="Making the slim copy",
    )


def extract_audio(
    source: Path,
    target: Path,
    *,
    ctx: JobContext | None,
    start: float = 0.0,
    seconds: float | None = None,
) -> None:
    """Mono 16 kHz MP3 (about 22 MB an hour): from ``start`` for ``seconds`` (to the end)."""
    window = ["-ss", f"{start:g}"] + (["-t", f"{seconds:g}"] if seconds is not None else [])
    run(
        [
            conf.ffmpeg(),
            "-nostdin",
            "-y",
            "-v",
            "error",
            *window,
            "-i",
            str(source),
            "-vn",
            "-ac",
            "1",
            "-ar",
            "16000",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "48k",
            str(target),
        ],
        ctx=ctx,
        what="Extracting the audio",
    )


def extract_frames(
    source: Path,
    directory: Path,
    *,
    ctx: JobContext | None,
    every: int = 1,
    width: int = 768,
) -> list[tuple[float, Path]]:
    """One JPEG every ``every`` seconds of video (1 fps by default): ``[(seconds, path), …]``.
    Long videos ask for a larger ``every`` so no more frames are written than are used."""
    run(
        [
            conf.ffmpeg(),
            "-nostdin",
            "-y",
            "-v",
            "error",
            "-i",
            str(source),
            "-vf",
            f"fps=1/{every},scale='min({width},iw)':-2",
            "-q:v",
            "5",
            str(directory / "frame-%05d.jpg"),
        ],
        ctx=ctx,
        what="Extracting frames",
    )
    frames = sorted(directory.glob("frame-*.jpg"))
    return [(float(index * every), path) for index, path in enumerate(frames)]


THUMB_SIZE = (16, 9)


def thumbnails(directory: Path, *, ctx: JobContext | None) -> dict[str, bytes]:
    """16x9 grayscale pixels of every extracted frame in ``directory`` (by file name): enough
    to compare frames cheaply (the offline provider's "what changed on screen")."""
    names = sorted(path.name for path in directory.glob("frame-*.jpg"))
    if not names:
        return {}
    width, height = THUMB_SIZE
    raw = run_bytes(
        [
            conf.ffmpeg(),
            "-nostdin",
            "-v",
            "error",
            "-f",
            "image2",
            "-i",
            str(directory / "frame-%05d.jpg"),
            "-vf",
            f"scale={width}:{height},format=gray",
            "-f",
            "rawvideo",
            "pipe:1",
        ],
        ctx=ctx,
        what="Comparing frames",
    )
    size = width * height
    return {name: raw[i * size : (i + 1) * size] for i, name in enumerate(names)}


def sample(items: list, limit: int) -> list:  # type: ignore[type-arg]
    """At most ``limit`` items, evenly spread, first and last included."""
    if len(items) <= limit or limit <= 0:
        return items
    if limit == 1:
        return items[:1]
    step = (len(items) - 1) / (limit - 1)
    return [items[round(i * step)] for i in range(limit)]


def render_video(source: Path, target: Path, *, ctx: JobContext | None) -> None:
    """The delivery copy: H.264 720p, 30 fps, AAC, ready to stream."""
    run(
        [
            conf.ffmpeg(),
            "-nostdin",
            "-y",
            "-v",
            "error",
            "-i",
            str(source),
            "-vf",
            "scale=-2:720,fps=30",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "23",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-movflags",
            "+faststart",
            str(target),
        ],
        ctx=ctx,
        what="Rendering the video",
    )


def slideshow(
    scenes: list[tuple[Path, float]],
    target: Path,
    *,
    audio: Path | None,
    ctx: JobContext | None,
    size: tuple[int, int] = (1280, 720),
) -> None:
    """A video from still images, each shown for its seconds, letterboxed to ``size``, with
    an optional audio track (padded with silence or cut to the video's length)."""
    width, height = size
    args = [conf.ffmpeg(), "-nostdin", "-y", "-v", "error"]
    for image, seconds in scenes:
        args += ["-loop", "1", "-t", f"{seconds:g}", "-i", str(image)]
    if audio is not None:
        args += ["-i", str(audio)]
    chains = [
        f"[{index}:v]scale={width}:{height}:force_original_aspect_ratio=decrease,"
        f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=30,format=yuv420p[v{index}]"
        for index in range(len(scenes))
    ]
    joined = "".join(f"[v{index}]" for index in range(len(scenes)))
    graph = ";".join([*chains, f"{joined}concat=n={len(scenes)}:v=1:a=0[v]"])
    args += ["-filter_complex", graph, "-map", "[v]"]
    if audio is not None:
        args += ["-map", f"{len(scenes)}:a", "-af", "apad", "-c:a", "aac", "-shortest"]
    args += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-movflags", "+faststart"]
    run([*args, str(target)], ctx=ctx, what="Assembling the video")


def synth_video(
    target: Path, *, seed: str, seconds: int, size: str, ctx: JobContext | None
) -> None:
    """A deterministic test-pattern clip with a tone (the offline provider's 'generated'
    video; also what the tests use)."""
    width, height = size.split("x")
    frequency = 300 + int(hashlib.sha256(seed.encode()).hexdigest()[:4], 16) % 600
    run(
        [
            conf.ffmpeg(),
            "-nostdin",
            "-y",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"testsrc=size={width}x{height}:rate=10:duration={seconds}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency={frequency}:duration={seconds}",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
            str(target),
        ],
        ctx=ctx,
        what="Making a video",
    )


def synth_image(target: Path, *, seed: str, size: str, ctx: JobContext | None) -> None:
    """A deterministic gradient PNG coloured by ``seed`` (the offline provider's image)."""
    digest = hashlib.sha256(seed.encode()).hexdigest()
    run(
        [
            conf.ffmpeg(),
            "-nostdin",
            "-y",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"gradients=size={size}:c0=0x{digest[:6]}:c1=0x{digest[6:12]}"
            f":seed={int(digest[12:18], 16)}",
            "-frames:v",
            "1",
            str(target),
        ],
        ctx=ctx,
        what="Making an image",
    )


# --- storage -------------------------------------------------------------------------------


def stored_name(name: str) -> str:
    """``name`` if it names a file inside the storage; a name that climbs out of it
    (``../../etc/passwd``) or is absolute fails the job for good, without retries and without
    showing the server's own paths (which Django's error message would)."""
    try:
        validate_file_name(name, allow_relative_path=True)
    except SuspiciousFileOperation:
        raise MediaError(
            f"The file name {name[:200]!r} points outside the storage folder; refused."
        ) from None
    return name


@contextlib.contextmanager
def local_file(name: str) -> Iterator[Path]:
    """A local path for a stored file: the file itself on local storage, else a temp copy."""
    if not default_storage.exists(stored_name(name)):
        raise MediaError(f"The stored file {name!r} does not exist (was it deleted?).")
    try:
        local: Path | None = Path(default_storage.path(name))
    except NotImplementedError:
        local = None
    if local is not None:
        yield local
        return
    suffix = PurePosixPath(name).suffix
    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
        with default_storage.open(name, "rb") as stored:
            shutil.copyfileobj(stored, tmp)
        tmp.flush()
        yield Path(tmp.name)


def store(path: Path, name: str, *, replace: bool = True) -> str:
    """Save a local file through the storage API under ``name``; returns the stored name."""
    if replace and default_storage.exists(stored_name(name)):
        default_storage.delete(name)
    with path.open("rb") as handle:
        return default_storage.save(name, File(handle, name=PurePosixPath(name).name))


def slim_name(raw_name: str) -> str:
    """The slim copy is stored beside the raw one: ``…/demo.mp4`` → ``…/demo.slim.mp4``."""
    path = PurePosixPath(raw_name)
    return str(path.with_name(f"{path.stem}.slim.mp4"))


def _float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0


# --- what an upload really is -----------------------------------------------------------------

#: The extension a stored file gets, from the demuxer that read it (never the user's suffix).
_EXTENSIONS = {
    ("video", "mov"): "mp4",
    ("audio", "mov"): "m4a",
    ("video", "matroska"): "mkv",
    ("audio", "matroska"): "mka",
    ("video", "asf"): "wmv",
    ("audio", "asf"): "wma",
    ("video", "ogg"): "ogv",
    ("audio", "ogg"): "ogg",
    ("video", "avi"): "avi",
    ("video", "flv"): "flv",
    ("video", "mpegts"): "ts",
    ("video", "mpeg"): "mpg",
    ("audio", "mp3"): "mp3",
    ("audio", "wav"): "wav",
    ("audio", "flac"): "flac",
    ("audio", "aac"): "aac",
    ("image", "png_pipe"): "png",
    ("image", "jpeg_pipe"): "jpg",
    ("image", "webp_pipe"): "webp",
    ("image", "gif"): "gif",
    ("image", "bmp_pipe"): "bmp",
    ("image", "tiff_pipe"): "tiff",
}
TEXT_SNIFF_BYTES = 64 * 1024


class UploadRefused(MediaError):
    """An upload is not a plain file of the kind it was declared as."""


def check_upload(path: Path, kind: str, *, name: str) -> tuple[str, Probe | None]:
    """Look at what an uploaded file really is; returns ``(extension, probe)`` or raises
    :class:`UploadRefused` with a reason a person understands. ``kind`` is what the user
    declared (video, image, audio, text): the content must be a plain file of that kind."""
    if not path.exists() or path.stat().st_size == 0:
        raise UploadRefused(f"The file {name!r} is empty.")
    if kind == "text":
        _check_text(path, name)
        return "txt", None
    formats = FORMATS_BY_KIND.get(kind)
    if formats is None:
        raise UploadRefused(f"Unknown kind {kind!r}.")
    if kind == "image" and image_demuxer(_head(path)) is None:
        raise UploadRefused(
            f"{name!r} is not an image: the file does not start like a PNG, JPEG, GIF, WebP, "
            "BMP or TIFF file."
        )
    try:
        info = probe(path, name=name, formats=formats)
    except MediaError as exc:
        raise UploadRefused(str(exc)) from None
    demuxer = next((f for f in formats if f in info.format.split(",")), "")
    if kind == "video" and (not info.has_video or info.duration <= 0):
        raise UploadRefused(f"{name!r} was sent as a video but has no video stream.")
    if kind == "audio" and not info.has_audio:
        raise UploadRefused(f"{name!r} was sent as audio but has no audio stream.")
    if kind == "image" and not info.has_video:
        raise UploadRefused(f"{name!r} was sent as an image but holds no picture.")
    if kind in ("video", "image"):
        _check_first_frame(path, formats, name=name, kind=kind)
    return _EXTENSIONS.get((kind, demuxer), "bin"), info


def _check_first_frame(path: Path, formats: tuple[str, ...], *, name: str, kind: str) -> None:
    """A header is not a picture: the first frame must decode."""
    args = [conf.ffmpeg(), "-nostdin", "-v", "error", "-xerror"]
    args += input_options(formats, path=path)
    args += ["-i", str(path), "-map", "0:v:0", "-frames:v", "1", "-f", "null", "-"]
    try:
        run(args, ctx=None, what=f"Reading {name!r}", timeout=120)
    except MediaError:
        article = "an image" if kind == "image" else "a video"
        raise UploadRefused(
            f"{name!r} was sent as {article}, but its picture cannot be decoded (is the file "
            "complete?)."
        ) from None


def read_text(path: Path, limit: int) -> str:
    """The first ``limit`` bytes of a text asset as text: UTF-8 (checked at upload), without the
    byte-order mark Windows puts first, a broken character replaced rather than fatal, and a
    character cut in two by the limit left out."""
    with path.open("rb") as handle:
        data = handle.read(limit)
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    return decoder.decode(data, final=len(data) < limit)


def _check_text(path: Path, name: str) -> None:
    """Text is UTF-8 without NUL bytes (a binary file or an image is refused). The first
    ``TEXT_SNIFF_BYTES`` are read; a character cut where the sample ends is not an error."""
    with path.open("rb") as handle:
        head = handle.read(TEXT_SNIFF_BYTES)
    if b"\x00" in head or head.startswith(IMAGE_MAGIC):
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Windows' "Unicode"
            raise UploadRefused(
                f"{name!r} is UTF-16 text; save it as UTF-8 (plain text) and upload it again."
            )
        raise UploadRefused(f"{name!r} was sent as text but is a binary file.")
    whole = len(head) < TEXT_SNIFF_BYTES
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=whole)
    except UnicodeDecodeError:
        raise UploadRefused(
            f"{name!r} was sent as text but is not UTF-8 text; save it as UTF-8 and upload it "
            "again."
        ) from None
