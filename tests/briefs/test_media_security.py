"""Hole 1 of issue 11: a user's file must never make ffmpeg read another file or a URL.

The attack: upload a playlist (HLS, a concat list, …) declared as a video whose entries name
another user's upload, then let the SOP flow slim and transcribe it. Refused at upload (the
content is checked with ffprobe's detected format); and should such a file reach ffmpeg anyway
(a file staff put in storage, an asset fetched from a URL), every ffmpeg/ffprobe input allows
only the ``file`` protocol and plain, self-contained demuxers."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from briefs import media
from briefs.models import Brief, Upload
from briefs.services import asset_store_upload, brief_create, brief_start_sop
from jobs.models import Job
from tests.api.conftest import ApiClient
from tests.support.media import make_audio, make_image, make_video


def playlists(target: Path) -> dict[str, bytes]:
    """Files that make ffmpeg open ``target`` (or a URL) when read as media."""
    return {
        "hls-file-url": (
            f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://{target}\n#EXT-X-ENDLIST\n"
        ).encode(),
        "hls-plain-path": (
            f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{target}\n#EXT-X-ENDLIST\n"
        ).encode(),
        "hls-http": (
            b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n"
            b"http://127.0.0.1:9/secret.ts\n#EXT-X-ENDLIST\n"
        ),
        "ffconcat": f"ffconcat version 1.0\nfile '{target}'\n".encode(),
        "dash": (
            '<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static">'
            f'<Period><AdaptationSet><Representation id="1" bandwidth="1"><BaseURL>file://{target}'
            "</BaseURL></Representation></AdaptationSet></Period></MPD>"
        ).encode(),
        "sdp": b"v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        b"m=video 9 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n",
        "srt": b"1\n00:00:00,000 --> 00:00:01,000\nhello\n",
    }


@pytest.fixture
def victim_video(tmp_path, django_user_model):
    """Another user's upload, stored where an attacker could guess it."""
    victim = django_user_model.objects.create_user("victim")
    video = make_video(tmp_path / "private.mp4", seconds=1, size="64x48")
    with video.open("rb") as handle:
        asset = asset_store_upload(owner=victim, file=SimpleUploadedFile("p.mp4", handle.read()))
    return Path(default_storage.path(asset["file"]))


@pytest.mark.django_db
@pytest.mark.parametrize("declared", ["video", "audio", "image"])
@pytest.mark.parametrize("form", list(playlists(Path("/x"))))
def test_a_playlist_upload_is_refused_whatever_it_claims_to_be(user, victim_video, declared, form):
    client = ApiClient(user)
    body = playlists(victim_video)[form]
    suffix = {"video": "mp4", "audio": "mp3", "image": "png"}[declared]
    response = client.client.post(
        "/api/uploads",
        {"file": SimpleUploadedFile(f"clip.{suffix}", body), "kind": declared},
        headers=client.headers,
    )
    assert response.status_code == 422, response.content
    message = response.json()["message"]
    assert "clip." in message and str(victim_video.parent) not in message
    assert not Upload.objects.filter(owner=user).exists()


@pytest.mark.django_db
def test_uploads_of_the_declared_kind_are_stored_under_our_names(user, tmp_path):
    files = {
        "video": make_video(tmp_path / "v.mp4", seconds=1, size="64x48"),
        "audio": make_audio(tmp_path / "a.wav"),
        "image": make_image(tmp_path / "i.jpg"),
    }
    for kind, path in files.items():
        upload = SimpleUploadedFile("evil.m3u8", path.read_bytes())
        asset = asset_store_upload(owner=user, file=upload, kind=kind)
        stored = Path(asset["file"])
        assert stored.stem == kind and stored.suffix in {".mp4", ".wav", ".jpg"}
        assert asset["name"] == "evil.m3u8"  # kept for display only
    text = asset_store_upload(owner=user, file=SimpleUploadedFile("n.md", "héllo".encode()))
    assert text["file"].endswith("/text.txt")


def ffmpeg_file(path: Path, *source: str) -> Path:
    """``path`` made by ffmpeg from a lavfi test source, in the format its suffix names."""
    args = ["ffmpeg", "-nostdin", "-y", "-v", "error", "-f", "lavfi", "-i", *source]
    subprocess.run([*args, str(path)], check=True)
    return path


PICTURE = ("testsrc=size=320x240", "-frames:v", "1")  # at 64x48 ffmpeg guessed right
CLIP = ("testsrc=size=64x48:rate=10:duration=1",)
TONE = ("sine=duration=1",)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "kind", "source", "stored"),
    [
        ("photo.jpg", "image", PICTURE, "jpg"),
        ("photo.JPEG", "image", PICTURE, "jpg"),
        ("shot.png", "image", PICTURE, "png"),
        ("anim.gif", "image", PICTURE, "gif"),
        ("pic.webp", "image", PICTURE, "webp"),
        ("scan.bmp", "image", PICTURE, "bmp"),
        ("scan.tif", "image", PICTURE, "tiff"),
        ("clip.mov", "video", CLIP, "mp4"),
        ("clip.mkv", "video", CLIP, "mkv"),
        ("clip.webm", "video", (*CLIP, "-c:v", "libvpx"), "mkv"),
        ("clip.avi", "video", CLIP, "avi"),
        ("song.mp3", "audio", TONE, "mp3"),
        ("song.wav", "audio", TONE, "wav"),
        ("song.ogg", "audio", TONE, "ogg"),
        ("song.m4a", "audio", (*TONE, "-c:a", "aac"), "m4a"),
        ("song.flac", "audio", TONE, "flac"),
        ("phone.3gp", "video", (*CLIP, "-c:v", "libx264", "-pix_fmt", "yuv420p"), "mp4"),
        ("clip.m4v", "video", (*CLIP, "-f", "mp4"), "mp4"),  # Apple's: an MP4 container
        ("voice.opus", "audio", TONE, "ogg"),
    ],
)
def test_common_formats_under_their_usual_names_are_accepted(
    user, tmp_path, settings, name, kind, source, stored
):
    """A photo called photo.jpg was refused: ffmpeg guessed its demuxer from the name (image2,
    which reads sequences and is not allowed) instead of its content. Django keeps the name's
    suffix on the temporary file of an upload too big for memory, as a phone's photo is: every
    upload goes to such a file here."""
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    body = ffmpeg_file(tmp_path / name.lower(), *source).read_bytes()
    client = ApiClient(user)
    response = client.client.post(
        "/api/uploads",
        {"file": SimpleUploadedFile(name, body)},  # the kind told by the name
        headers=client.headers,
    )
    assert response.status_code == 201, response.content
    upload = Upload.objects.get(owner=user)
    assert (upload.kind, upload.original_name) == (kind, name)
    assert upload.name.endswith(f"/{kind}.{stored}")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("Café au lait".encode("latin-1"), "is not UTF-8 text; save it as UTF-8"),
        ("Café au lait\n".encode("utf-16"), "is UTF-16 text; save it as UTF-8"),
    ],
)
def test_text_in_another_encoding_is_refused_saying_which(user, body, reason):
    """A short Latin-1 file was taken (its bad byte was near the end of the sample, read as a
    character cut in two), and a UTF-16 file was called binary."""
    client = ApiClient(user)
    response = client.client.post(
        "/api/uploads",
        {"file": SimpleUploadedFile("notes.txt", body), "kind": "text"},
        headers=client.headers,
    )
    assert response.status_code == 422
    assert reason in response.json()["message"]
    assert not Upload.objects.exists()


def test_text_is_read_without_the_byte_order_mark(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_bytes("\ufeffÉtape 1\n".encode() + b"\xff")
    assert media.read_text(notes, 100) == "Étape 1\n\ufffd"
    assert media.read_text(notes, 5) == "É"  # the limit is in bytes, the mark's three too
    assert media.read_text(notes, 4) == ""  # half an É is left out, not replaced


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "body", "reason"),
    [
        ("image", b"GIF89a" + b"#EXTM3U\n" * 10, "cannot be decoded"),
        ("image", b"#EXTM3U\n", "not an image"),
        ("text", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "binary"),
        ("text", b"\xff\xfe\xfa not utf-8 at all " * 4, "not UTF-8"),
        ("audio", b"RIFF\x00\x00\x00\x00WAVE", "not a media file"),
    ],
)
def test_content_that_does_not_match_its_kind_is_refused(user, kind, body, reason):
    client = ApiClient(user)
    response = client.client.post(
        "/api/uploads",
        {"file": SimpleUploadedFile("x.bin", body), "kind": kind},
        headers=client.headers,
    )
    assert response.status_code == 422
    assert reason in response.json()["message"]


@pytest.mark.django_db
def test_an_upload_keeps_the_kind_it_was_checked_as(user):
    text = asset_store_upload(
        owner=user, file=SimpleUploadedFile("list.m3u8", b"#EXTM3U\n"), kind="text"
    )
    assert text["kind"] == "text"
    with pytest.raises(Exception, match="uploaded as text, not video"):
        brief_create(
            owner=user,
            title="t",
            query="q",
            media_type="video",
            assets=[{"kind": "video", "file": text["file"]}],
        )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("form", ["hls-file-url", "hls-plain-path", "ffconcat"])
def test_a_playlist_that_reaches_the_sop_flow_reads_nothing(user, victim_video, form):
    """Defence in depth: a playlist already in storage (put there by staff, fetched from a
    URL, stored before uploads were checked) fails the flow without reading its target."""
    body = playlists(victim_video)[form]
    name = default_storage.save("briefs/legacy/clip.mp4", ContentFile(body))
    brief = brief_create(
        owner=user,
        title="V",
        query="q",
        media_type="video",
        assets=[{"kind": "video", "file": name}],
    )
    jobs = brief_start_sop(brief=brief)
    call_command("runworker", "--burst", "--concurrency", "1", "--poll-interval", "0.05")

    slim = Job.objects.get(pk=jobs[0].pk)
    assert slim.status == Job.Status.FAILED and not slim.result
    assert Brief.objects.get(pk=brief.pk).status == Brief.Status.FAILED
    assert not default_storage.exists(media.slim_name(name))
    assert str(victim_video) not in slim.error and "0x" not in slim.error


def test_every_input_is_locked_down(tmp_path):
    args = media.harden(
        ["ffmpeg", "-f", "lavfi", "-i", "testsrc", "-loop", "1", "-i", "a.png", "out.mp4"]
    )
    first, second = (i for i, arg in enumerate(args) if arg == "-i")
    assert args[first - 4 : first] == ["-f", "lavfi", "-protocol_whitelist", "file"]
    assert args[second - 4 : second - 2] == ["-protocol_whitelist", "file"]
    assert args[second - 2] == "-format_whitelist" and "hls" not in args[second - 1]
    probe = media.harden(["ffprobe", "-v", "error", "x.mp4"])
    assert probe[1:3] == ["-protocol_whitelist", "file"]


def test_ffmpeg_errors_show_no_addresses_or_server_paths(tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path)
    playlist = tmp_path / "a" / "clip.mp4"
    playlist.parent.mkdir()
    playlist.write_bytes(b"#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n")
    with pytest.raises(media.MediaError) as info:
        media.run(
            ["ffmpeg", "-v", "error", "-i", str(playlist), "-f", "null", "-"], ctx=None, what="x"
        )
    assert "0x" not in str(info.value).replace("0x…", "")
    assert str(tmp_path) not in str(info.value)


@pytest.mark.parametrize("form", ["hls-file-url", "hls-plain-path", "ffconcat", "dash"])
@pytest.mark.parametrize("step", ["make_slim", "extract_audio", "extract_frames", "render_video"])
def test_no_ffmpeg_call_follows_a_playlist(tmp_path, form, step):
    secret = make_video(tmp_path / "secret.mp4", seconds=1, size="64x48")
    playlist = tmp_path / "clip.mp4"
    playlist.write_bytes(playlists(secret)[form])
    out = tmp_path / "out"
    out.mkdir()
    call = {
        "make_slim": lambda: media.make_slim(playlist, out / "slim.mp4", ctx=None),
        "extract_audio": lambda: media.extract_audio(playlist, out / "a.mp3", ctx=None),
        "extract_frames": lambda: media.extract_frames(playlist, out, ctx=None),
        "render_video": lambda: media.render_video(playlist, out / "r.mp4", ctx=None),
    }[step]
    with pytest.raises(media.MediaError):
        call()
    assert not [path for path in out.iterdir() if path.stat().st_size > 0]
