"""Asset URLs: http(s) only, and no requests into private networks unless allowed."""

from __future__ import annotations

import http.server
import socket
import threading

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from briefs import fetch
from briefs.models import Brief
from briefs.services import brief_create, brief_start
from jobs.models import Job


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a.png",
        "http://localhost:8000/a.png",
        "http://[::1]/a.png",
        "http://10.1.2.3/a.png",
        "http://192.168.0.10/a.png",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
def test_private_addresses_are_refused_by_default(settings, url):
    settings.BRIEFS_ALLOW_PRIVATE_URLS = False
    with pytest.raises(fetch.FetchError, match="private network"):
        fetch.check_url(url)


@pytest.mark.parametrize("url", ["ftp://example.com/a.png", "file:///etc/passwd", "http:///x"])
def test_only_http_urls_with_a_host(settings, url):
    settings.BRIEFS_ALLOW_PRIVATE_URLS = True
    with pytest.raises(fetch.FetchError, match="Only http"):
        fetch.check_url(url)


def test_large_downloads_stop_at_the_limit(settings, file_server, tmp_path):
    settings.BRIEFS_ALLOW_PRIVATE_URLS = True
    settings.BRIEFS_ASSET_MAX_BYTES = 1000
    (file_server.root / "big.bin").write_bytes(b"x" * 5000)
    with pytest.raises(fetch.FetchError, match="larger than the 1,000-byte limit"):
        fetch.download(f"{file_server.url}/big.bin", tmp_path / "big.bin")
    (file_server.root / "small.bin").write_bytes(b"x" * 10)
    assert fetch.download(f"{file_server.url}/small.bin", tmp_path / "s.bin")["bytes"] == 10


# --- issue 11, hole 2: DNS rebinding; hole 12: URLs that cannot be URLs ----------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:
        self.seen.append(self.path)
        if self.path == "/hop":
            self.send_response(302)
            self.send_header("Location", "/secret.txt")
            self.end_headers()
            return
        body = b"the server's own secret"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback_server():
    _Recorder.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def rebinding_dns(monkeypatch):
    """A name that answers a public address first and loopback afterwards, as an attacker's
    DNS server with a zero TTL does. (The system resolver is replaced for ``rebind.test`` only;
    everything after the answer is the real network stack.)"""
    real = socket.getaddrinfo
    answers: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host != "rebind.test":
            return real(host, port, *args, **kwargs)
        address = "127.0.0.1" if answers else "93.184.216.34"  # public first, then loopback
        answers.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def test_dns_rebinding_never_reaches_loopback(settings, loopback_server, rebinding_dns, tmp_path):
    settings.BRIEFS_ALLOW_PRIVATE_URLS = False
    settings.BRIEFS_ASSET_FETCH_TIMEOUT = 1
    port = loopback_server.server_address[1]
    with pytest.raises((fetch.FetchError, fetch.RetryableFetchError)):
        fetch.download(f"http://rebind.test:{port}/secret.txt", tmp_path / "x")
    assert rebinding_dns == ["93.184.216.34"]  # resolved once; the checked address was used
    assert _Recorder.seen == []  # the loopback server was never asked
    assert not (tmp_path / "x").exists() or (tmp_path / "x").read_bytes() == b""


def test_redirects_are_followed_through_checked_connections(settings, loopback_server, tmp_path):
    settings.BRIEFS_ALLOW_PRIVATE_URLS = True
    port = loopback_server.server_address[1]
    info = fetch.download(f"http://localhost:{port}/hop", tmp_path / "x")
    assert info["bytes"] == len(b"the server's own secret")
    assert _Recorder.seen == ["/hop", "/secret.txt"]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://example.com:99999/a.png", "not a valid URL"),
        ("http://example.com:abc/a.png", "not a valid URL"),
        ("http://example.com:0/a.png", "port 0"),
        ("http://" + "a" * 300 + ".com/a.png", "not valid"),
        ("http://" + "é" * 70 + ".com/a.png", "not valid"),
        ("http://[::1/a.png", "not a valid URL"),
    ],
)
def test_urls_that_cannot_be_urls_fail_for_good_with_a_reason(settings, url, reason, tmp_path):
    settings.BRIEFS_ALLOW_PRIVATE_URLS = True
    with pytest.raises(fetch.FetchError, match=reason):
        fetch.download(url, tmp_path / "x")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["http://example.com:99999/a.png", "http://" + "a" * 300 + ".com/a.png"]
)
def test_a_brief_with_such_a_url_is_refused_at_once(user, url):
    with pytest.raises(ValidationError, match="Asset 1"):
        brief_create(owner=user, title="t", query="q", media_type="image", assets=[{"url": url}])


@pytest.mark.django_db(transaction=True)
def test_a_stored_bad_url_fails_the_step_once_with_a_reason(user):
    brief = brief_create(owner=user, title="t", query="q", media_type="image")
    bad = "http://example.com:99999/a.png"
    Brief.objects.filter(pk=brief.pk).update(assets=[{"kind": "image", "url": bad, "name": "a"}])
    brief_start(brief=brief, use_pipeline=True)
    call_command("runworker", "--burst", "--concurrency", "1", "--poll-interval", "0.05")
    job = Job.objects.get(type="asset_prep")
    assert job.status == Job.Status.FAILED and job.attempts == 1
    assert "not a valid URL" in job.error


@pytest.mark.django_db(transaction=True)
def test_an_asset_with_a_long_multibyte_name_is_stored(user, settings, file_server):
    from tests.support.media import make_image

    settings.BRIEFS_ALLOW_PRIVATE_URLS = True
    make_image(file_server.root / "pic.png")
    name = "изображение-" * 40 + ".png"  # about 1,000 bytes of UTF-8
    asset = {"kind": "image", "url": f"{file_server.url}/pic.png", "name": name}
    brief = brief_create(owner=user, title="t", query="q", media_type="image", assets=[asset])
    assert len(brief.assets[0]["name"].encode()) <= 150
    brief_start(brief=brief, use_pipeline=True)
    call_command("runworker", "--burst", "--concurrency", "1", "--poll-interval", "0.05")
    job = Job.objects.get(type="asset_prep")
    assert job.status == Job.Status.SUCCEEDED, job.error
