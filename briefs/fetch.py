"""Fetching asset URLs safely: http(s) only, a size limit, a timeout, and no requests into
loopback or private networks unless ``BRIEFS_ALLOW_PRIVATE_URLS`` is on (every redirect is
checked again)."""

from __future__ import annotations

import ipaddress
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from briefs import conf
from jobs.exceptions import PermanentError

if TYPE_CHECKING:
    from jobs.context import JobContext

CHUNK = 256 * 1024


class FetchError(PermanentError):
    """An asset URL cannot be fetched; the message says why."""


class RetryableFetchError(Exception):
    """The server hosting an asset failed in a way that may pass (5xx, timeout)."""


def check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"Only http(s) URLs can be fetched, not {url!r}.")
    if conf.allow_private_urls():
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise FetchError(f"The host of {url!r} cannot be found ({exc.strerror}).") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])  # drop an IPv6 scope
        if not address.is_global:
            raise FetchError(
                f"{url!r} points into a private network ({address}); such URLs are refused "
                "(set BRIEFS_ALLOW_PRIVATE_URLS to allow them)."
            )


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str):  # type: ignore[no-untyped-def]
        check_url(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def download(url: str, target: Path, *, ctx: JobContext | None = None) -> dict[str, Any]:
    """Download ``url`` to ``target``; returns ``{"bytes", "content_type"}``."""
    check_url(url)
    opener = urllib.request.build_opener(_CheckedRedirects())
    request = urllib.request.Request(url, headers={"User-Agent": "jobs-app asset fetcher"})  # noqa: S310 - scheme checked above
    limit = conf.asset_max_bytes()
    try:
        with opener.open(request, timeout=conf.asset_fetch_timeout()) as response:
            content_type = response.headers.get("Content-Type", "")
            size = 0
            with target.open("wb") as out:
                while chunk := response.read(CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise FetchError(f"{url!r} is larger than the {limit:,}-byte limit.")
                    out.write(chunk)
                    if ctx is not None:
                        ctx.check()
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code == 429:
            raise RetryableFetchError(f"{url!r} answered {exc.code} {exc.reason}") from None
        raise FetchError(f"{url!r} cannot be fetched: {exc.code} {exc.reason}.") from None
    except urllib.error.URLError as exc:
        raise FetchError(f"{url!r} cannot be fetched: {exc.reason}.") from None
    except TimeoutError:
        raise RetryableFetchError(f"{url!r} did not answer within the timeout") from None
    if size == 0:
        raise FetchError(f"{url!r} returned an empty file.")
    return {"bytes": size, "content_type": content_type}
