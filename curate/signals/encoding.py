"""Bytes of a web page -> text, as a browser would decode them; and "is this payload HTML?". Pure functions.

Decoding follows the order of the WHATWG HTML standard's encoding sniffing algorithm
(https://html.spec.whatwg.org/multipage/parsing.html#encoding-sniffing-algorithm), simplified:

1. a byte order mark (UTF-8, UTF-16 LE/BE);
2. the charset of the HTTP ``Content-Type`` header;
3. ``<meta charset>`` / ``<meta http-equiv="Content-Type">`` (or an XML declaration) in the first 2 KB;
4. UTF-8, if the bytes are valid UTF-8;
5. detection (resiliparse's ``detect_encoding``, uchardet).

Labels are mapped as browsers map them (WHATWG "Encoding" standard, https://encoding.spec.whatwg.org/#names-and-labels):
ISO-8859-1 and ASCII decode as windows-1252, GB2312 as GB18030 (its superset), Shift_JIS as cp932 (with the NEC and IBM
extensions), EUC-KR as cp949, TIS-620 as cp874. A declared label (1-3) wins even with a few bad bytes (a page cut at
a crawler's size limit, one stray byte): at most ``max_bad`` of the bytes may be replaced with U+FFFD. The undeclared
UTF-8 guess (4) must be exact, else legacy pages with a few accented letters would decode as UTF-8 with holes.
"""

from __future__ import annotations

import codecs
import functools
import re
from typing import NamedTuple

# WHATWG decoder name (as resiliparse's map_encoding_to_html5 returns it) -> the Python codec that decodes like it.
_SUPERSETS = {
    "gbk": "gb18030",  # WHATWG: GBK and GB2312 labels decode with the gb18030 decoder
    "gb2312": "gb18030",
    "shift_jis": "cp932",  # WHATWG's Shift_JIS index is Microsoft's: NEC row 13 and IBM extensions included
    "euc_kr": "cp949",  # WHATWG's EUC-KR is windows-949 (Unified Hangul Code)
    "iso8859-11": "cp874",  # WHATWG: TIS-620 and ISO-8859-11 labels are windows-874
    "big5": "big5hkscs",  # WHATWG's Big5 includes the HKSCS extensions
}
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_META = re.compile(rb"""<meta[^>]{0,512}?charset\s*=\s*["']?\s*([a-zA-Z0-9_.:+-]{1,40})""", re.IGNORECASE)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([a-zA-Z0-9_.:+-]{1,40})""", re.IGNORECASE)
_HTML_START = re.compile(rb"<(!doctype\s+html|html[\s>]|head[\s>]|body[\s>]|title[\s>]|meta\s)", re.IGNORECASE)
# what may precede the root element: white space, XML declaration / processing instructions, comments
_PROLOG = re.compile(rb"^(\s+|<\?[^>]*\?>|<!--.*?-->)*", re.DOTALL)
SNIFF_BYTES = 2048  # the standard's prescan looks at the first 1024 bytes; a little more catches long <head>s


class Decoded(NamedTuple):
    text: str
    encoding: str  # the Python codec that decoded it (cp1252, gb18030, utf-8, ...)
    source: str  # bom | http | meta | utf8 | detected


@functools.lru_cache(maxsize=1024)
def python_codec(label: str | None) -> str | None:
    """A charset label from a header or a meta tag -> the Python codec a browser's decoder matches; None if unknown."""
    if not label:
        return None
    from resiliparse.parse.encoding import map_encoding_to_html5

    name = map_encoding_to_html5(label.strip().strip("\"'"), fallback_utf8=False)
    if name is None:
        return None
    name = _SUPERSETS.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def meta_charset(head: bytes) -> str | None:
    """The charset declared by a <meta> tag or an XML declaration in ``head`` (the first bytes), or None."""
    m = _XML_DECL.search(head) or _META.search(head)
    if m is None:
        return None
    label = m.group(1).decode("ascii")
    # WHATWG: a meta tag cannot declare UTF-16 (the bytes it was read from are ASCII-compatible): it means UTF-8.
    return "utf-8" if label.lower().startswith("utf-16") else label


def _try(data: bytes, codec: str, max_bad: float) -> str | None:
    """Decode ``data`` with ``codec``: exactly (an incomplete last character, from truncation, is dropped), or
    with replacement if at most ``max_bad`` of the bytes are invalid."""
    try:
        return codecs.getincrementaldecoder(codec)("strict").decode(data, final=False)
    except UnicodeDecodeError:
        if max_bad <= 0:
            return None
    text = data.decode(codec, errors="replace")
    return text if text.count("\ufffd") <= max_bad * len(data) else None


def decode_html(data: bytes, http_charset: str | None = None, max_bad: float = 0.001) -> Decoded | None:
    """Decode a page as described in the module docstring; None if no candidate decodes it."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            text = _try(data[len(bom) :], codec, max_bad)
            return Decoded(text, codec, "bom") if text is not None else None
    tried = set()
    for source in ("http", "meta"):
        codec = python_codec(http_charset if source == "http" else meta_charset(data[:SNIFF_BYTES]))
        if codec is not None and codec not in tried and (text := _try(data, codec, max_bad)) is not None:
            return Decoded(text, codec, source)
        tried.add(codec)
    if (text := _try(data, "utf-8", 0.0)) is not None:
        return Decoded(text, "utf-8", "utf8")
    from resiliparse.parse.encoding import detect_encoding

    codec = python_codec(detect_encoding(data, html5_compatible=True))
    if codec is not None and (text := _try(data, codec, max_bad)) is not None:
        return Decoded(text, codec, "detected")
    return None


HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "application/vnd.wap.xhtml+xml"})
# Labels under which servers (and libmagic) hand out (X)HTML: such payloads are HTML only if their first bytes say so.
SNIFF_TYPES = frozenset(
    {"", "text/xml", "application/xml", "text/plain", "application/octet-stream", "unknown/unknown"}
)


def is_html(mime: str, data: bytes) -> bool:
    """Is a payload labelled ``mime`` (no parameters, lower case) an (X)HTML page? XHTML served as text/xml is."""
    return mime in HTML_TYPES or (mime in SNIFF_TYPES and looks_like_html(data))


def looks_like_html(data: bytes) -> bool:
    """True if the payload starts like an (X)HTML document: after an optional BOM, XML declaration, comments and
    white space, one of ``<!DOCTYPE html``, ``<html``, ``<head``, ``<body``, ``<title``, ``<meta`` comes first
    (the WHATWG MIME sniffing standard's "HTML" patterns, https://mimesniff.spec.whatwg.org/#identifying-a-resource-with-an-unknown-mime-type)."""
    head = data[:SNIFF_BYTES]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        head = head.decode("utf-16", errors="ignore").encode("utf-8")
    head = _PROLOG.sub(b"", head.removeprefix(codecs.BOM_UTF8))
    return _HTML_START.match(head) is not None
