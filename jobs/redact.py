"""Error text as users may see it: no server paths, no memory addresses.

Jobs record errors in full (staff read them, with tracebacks, in the admin and the dashboard).
What a user is shown goes through :func:`public_text`: a folder of the server (``MEDIA_ROOT``,
``BASE_DIR``, the temp folder, any other absolute path) is cut to the file's own name, and
``0x…`` addresses (``<object at 0x7f…>``, ffmpeg's ``[hls @ 0x55…]``) are hidden.
"""

from __future__ import annotations

import re
import tempfile

from django.conf import settings

_FFMPEG_CONTEXT = re.compile(r"\[[\w:.-]+ @ (?:0x)?[0-9a-fA-F]+\]\s*")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{4,}")
#: An absolute path (not the path of a URL: no ``:``, ``/`` or word character before it).
_PATH = re.compile(r"(?<![\w:/.~-])(?:/[\w.@+=,~-]+)+/?")


def private_roots() -> list[str]:
    """The server's folders, longest first (so a folder inside another goes whole)."""
    folders = ("MEDIA_ROOT", "BASE_DIR", "STATIC_ROOT")  # Django's (a project may lack one)
    roots = {str(getattr(settings, name, "") or "") for name in folders} | {tempfile.gettempdir()}
    return sorted((r.rstrip("/") for r in roots if len(r.rstrip("/")) > 1), key=len, reverse=True)


def public_text(text: str) -> str:
    """``text`` without server paths and memory addresses (see the module's docstring)."""
    if not text:
        return text
    text = _FFMPEG_CONTEXT.sub("", text)
    text = _ADDRESS.sub("0x…", text)
    for root in private_roots():
        text = text.replace(root + "/", "").replace(root, "…")
    return _PATH.sub(_last_part, text)


def _last_part(match: re.Match[str]) -> str:
    path = match.group(0).rstrip("/")
    name = path.rsplit("/", 1)[-1]
    return name if path.count("/") <= 1 else f"…/{name}"
