"""Printable, storable text for file names that come from untrusted uploads.

A tar member name is bytes; Python decodes names that are not valid UTF-8 with
`surrogateescape` (PEP 383), so every later `str` holding such a name carries lone surrogates
(U+DC80..U+DCFF). Those cannot be encoded as UTF-8: printing or storing the text raises
`UnicodeEncodeError`, and PostgreSQL's text type refuses both them and NUL characters. Every
message and case id that may hold a user's file name therefore goes through `printable`,
which writes such characters as backslash escapes (the invalid byte 0xff as `\\xff`, as
`bytes.decode(errors="backslashreplace")` would) and leaves all other text unchanged.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls, and every surrogate code point.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with NUL, control characters and lone surrogates written as escapes.

    The result always encodes as UTF-8 and holds no NUL; plain text is returned as is (the
    common case costs one regular-expression scan).
    """
    if _UNPRINTABLE.search(text) is None:
        return text
    return _UNPRINTABLE.sub(_escape, text)


def quoted(name: str) -> str:
    """A name in quotes for messages, printable (unlike `repr`, a byte that is not UTF-8
    reads as `\\xff`, as in `printable`, not as the surrogate `\\udcff`); a newline or tab
    in a name is escaped too, so a name cannot start a line of its own in a report."""
    shown = printable(name).replace("\n", "\\n").replace("\t", "\\t")
    return f"'{shown}'"


def shortened(name: str, limit: int = 80) -> str:
    """A printable name cut to about `limit` characters (middle elided), for messages about
    names that are too long to show whole."""
    name = printable(name)
    if len(name) <= limit:
        return name
    half = (limit - 1) // 2
    return f"{name[:half]}…{name[-half:]}"
