"""Asset URLs: http(s) only, and no requests into private networks unless allowed."""

from __future__ import annotations

import pytest

from briefs import fetch


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
