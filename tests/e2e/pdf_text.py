"""The text of each page of a PDF that Chromium (Skia) printed: just enough for tests to
count pages and read what each one carries, without a PDF library.

Skia writes plain objects (no object streams), Flate-compressed content streams, and a
ToUnicode map for every font, so each shown glyph maps back to its characters.
"""

from __future__ import annotations

import re
import zlib

OBJECT = re.compile(rb"(\d+) 0 obj\s*(.*?)endobj", re.S)
STREAM = re.compile(rb">>\s*stream\r?\n(.*)endstream", re.S)
PAGE = re.compile(rb"/Type\s*/Page\b")
HEX_PAIR = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")
HEX_RANGE = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")
# A font change, a hex string of glyphs, or an operator that starts a new line or text block.
TEXT_TOKEN = re.compile(rb"/(\w+)\s+[\d.]+\s+Tf|<([0-9A-Fa-f]*)>|(T\*|Td|TD|Tm|ET)\b")


def _objects(data: bytes) -> dict[int, tuple[bytes, bytes | None]]:
    found: dict[int, tuple[bytes, bytes | None]] = {}
    for match in OBJECT.finditer(data):
        body, stream = match.group(2), None
        content = STREAM.search(body)
        if content:
            stream = content.group(1)
            if b"FlateDecode" in body[: content.start()]:
                stream = zlib.decompress(stream)
            body = body[: content.start() + 2]
        found[int(match.group(1))] = (body, stream)
    return found


def _unicode_map(cmap: bytes) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", cmap, re.S):
        for source, target in HEX_PAIR.findall(block):
            mapping[int(source, 16)] = bytes.fromhex(target.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", cmap, re.S):
        for low, high, target in HEX_RANGE.findall(block):
            first = int(target, 16)
            for offset, code in enumerate(range(int(low, 16), int(high, 16) + 1)):
                mapping[code] = chr(first + offset)
    return mapping


def _reference(body: bytes, key: bytes) -> int | None:
    match = re.search(rb"/" + key + rb"\s+(\d+) 0 R", body)
    return int(match.group(1)) if match else None


def _fonts(objects: dict[int, tuple[bytes, bytes | None]], page: bytes) -> dict[bytes, dict]:
    resources_id = _reference(page, b"Resources")
    resources = objects[resources_id][0] if resources_id else page
    spec = re.search(rb"/Font\s*(<<.*?>>|\d+ 0 R)", resources, re.S)
    if not spec:
        return {}
    table = spec.group(1)
    if table.endswith(b"R"):
        table = objects[int(table.split()[0])][0]
    fonts = {}
    for name, number in re.findall(rb"/(\w+)\s+(\d+) 0 R", table):
        cmap_id = _reference(objects[int(number)][0], b"ToUnicode")
        fonts[name] = _unicode_map(objects[cmap_id][1] or b"") if cmap_id else {}
    return fonts


def page_texts(data: bytes) -> list[str]:
    """One string per page, in order; text blocks separated by spaces."""
    objects = _objects(data)
    pages = []
    for _, (body, _stream) in sorted(objects.items()):
        if not PAGE.search(body):
            continue
        fonts = _fonts(objects, body)
        contents = _reference(body, b"Contents")
        stream = (objects[contents][1] if contents else None) or b""
        parts: list[str] = []
        glyphs: dict[int, str] = {}
        for token in TEXT_TOKEN.finditer(stream):
            if token.group(1):
                glyphs = fonts.get(token.group(1), {})
            elif token.group(2) is not None:
                digits = token.group(2).decode()
                width = 4 if len(digits) % 4 == 0 else 2
                parts.append(
                    "".join(
                        glyphs.get(int(digits[i : i + width], 16), "")
                        for i in range(0, len(digits), width)
                    )
                )
            else:
                parts.append(" ")
        pages.append(" ".join("".join(parts).split()))
    return pages
