"""Fetching asset URLs safely: http(s) only, a size limit, a timeout, and no requests into
loopback or private networks unless ``BRIEFS_ALLOW_PRIVATE_URLS`` is on.

A host name is resolved once per request, every address it answers is checked, and the
connection goes to the address that was checked (the request still names the host, and TLS
still verifies its certificate): a name that answers a public address to the check and a
loopback one to the connect (DNS rebinding) reaches nothing. Redirects are followed by hand,
each hop resolved, checked and pinned the same way.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from briefs import conf
from jobs.exceptions import PermanentError

if TYPE_CHECKING:
    from jobs.context import JobContext

CHUNK = 256 * 1024
MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: The longest host name DNS allows.
MAX_HOST = 253


class FetchError(PermanentError):
    """An asset URL cannot be fetched; the message says why."""


class RetryableFetchError(Exception):
    """The server hosting an asset failed in a way that may pass (5xx, timeout)."""


@dataclass(frozen=True)
class Target:
    """Where one request goes: the URL's parts and the checked address to connect to."""

    scheme: str
    host: str
    port: int
    address: str
    path: str


def parse(url: str) -> tuple[str, str, int, str]:
    """``(scheme, host, port, path)`` of an http(s) URL, or :class:`FetchError` saying what is
    wrong with it (not http(s), no host, a bad port, a host name too long to be one)."""
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        port = parts.port
    except ValueError as exc:  # a port that is not a number, or out of range; a bad IPv6
        raise FetchError(f"{_short(url)} is not a valid URL ({exc}).") from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise FetchError(f"Only http(s) URLs can be fetched, not {_short(url)}.")
    if len(hostname) > MAX_HOST or any(not 0 < len(label) < 64 for label in hostname.split(".")):
        raise FetchError(f"The host name of {_short(url)} is not valid (too long).")
    try:
        hostname.encode("idna")
    except UnicodeError:
        raise FetchError(f"The host name of {_short(url)} is not valid.") from None
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    if port == 0:
        raise FetchError(f"{_short(url)} names port 0, which cannot be connected to.")
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    return parts.scheme, hostname, port, path


def check_url(url: str) -> Target:
    """Parse ``url``, resolve its host once and check every address it has; returns the
    :class:`Target` to connect to, or raises :class:`FetchError` with a readable reason."""
    scheme, hostname, port, path = parse(url)
    try:
        infos = socket.getaddrinfo(hostname, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise FetchError(f"The host of {_short(url)} cannot be found ({exc.strerror}).") from None
    except (UnicodeError, ValueError):
        raise FetchError(f"The host name of {_short(url)} is not valid.") from None
    addresses = [str(info[4][0]).split("%", 1)[0] for info in infos]  # drop an IPv6 scope
    if not addresses:
        raise FetchError(f"The host of {_short(url)} cannot be found.")
    if not conf.allow_private_urls():
        for text in addresses:
            address = ipaddress.ip_address(text)
            if not address.is_global:
                raise FetchError(
                    f"{_short(url)} points into a private network ({address}); such URLs are "
                    "refused (set BRIEFS_ALLOW_PRIVATE_URLS to allow them)."
                )
    return Target(scheme, hostname, port, addresses[0], path)


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to a fixed address, whatever the host name resolves to now."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a fixed address; the certificate is still checked against the host name."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
        self.address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def _open(url: str, timeout: float) -> tuple[http.client.HTTPConnection, Any]:
    """GET ``url`` following redirects by hand; each hop checked and pinned."""
    for _ in range(MAX_REDIRECTS + 1):
        target = check_url(url)
        connection_class = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
        connection = connection_class(target, timeout)
        try:
            connection.request("GET", target.path, headers={"User-Agent": USER_AGENT})
            response = connection.getresponse()
        except BaseException:
            connection.close()
            raise
        location = response.getheader("Location")
        if response.status in REDIRECTS and location:
            connection.close()
            url = urljoin(url, location)
            continue
        return connection, response
    raise FetchError(f"{_short(url)} redirects more than {MAX_REDIRECTS} times.")


USER_AGENT = "jobs-app asset fetcher"


def download(url: str, target: Path, *, ctx: JobContext | None = None) -> dict[str, Any]:
    """Download ``url`` to ``target``; returns ``{"bytes", "content_type"}``."""
    limit = conf.asset_max_bytes()
    size = 0
    try:
        connection, response = _open(url, conf.asset_fetch_timeout())
        try:
            status = response.status
            if status >= 500 or status == 429:
                raise RetryableFetchError(f"{_short(url)} answered {status} {response.reason}")
            if status >= 400:
                raise FetchError(f"{_short(url)} cannot be fetched: {status} {response.reason}.")
            content_type = response.getheader("Content-Type", "")
            with target.open("wb") as out:
                while chunk := response.read(CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise FetchError(f"{_short(url)} is larger than the {limit:,}-byte limit.")
                    out.write(chunk)
                    if ctx is not None:
                        ctx.check()
        finally:
            connection.close()
    except TimeoutError:
        raise RetryableFetchError(f"{_short(url)} did not answer within the timeout") from None
    except ssl.SSLError as exc:
        raise FetchError(f"{_short(url)} cannot be fetched: TLS failed ({exc.reason}).") from None
    except (ConnectionError, http.client.HTTPException) as exc:
        raise RetryableFetchError(f"{_short(url)} cannot be reached now ({_why(exc)})") from None
    except OSError as exc:
        raise FetchError(f"{_short(url)} cannot be fetched: {_why(exc)}.") from None
    except (ValueError, UnicodeError) as exc:
        raise FetchError(f"{_short(url)} cannot be fetched: {_why(exc)}.") from None
    if size == 0:
        raise FetchError(f"{_short(url)} returned an empty file.")
    return {"bytes": size, "content_type": content_type}


def _short(url: str) -> str:
    """The URL as messages show it (a very long one is cut)."""
    return repr(url if len(url) <= 200 else url[:200] + "…")


def _why(exc: BaseException) -> str:
    return (getattr(exc, "strerror", None) or str(exc) or type(exc).__name__)[:200]
