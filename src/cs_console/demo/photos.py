"""The demo customers' photos, drawn in code (no binary files in the repository): small
PNGs that look enough like what the story says to show how a photo arrives."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

Pixel = tuple[int, int, int]


def png(width: int, height: int, colour: Callable[[int, int], Pixel]) -> bytes:
    """A PNG of ``width`` x ``height``, each pixel's colour from ``colour(x, y)``."""
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")  # no filter
        for x in range(width):
            r, g, b = colour(x, y)
            row += bytes((r, g, b))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


def cracked_kettle() -> bytes:
    """A glass kettle on a table, a dark crack running down its side."""
    width, height = 64, 48

    def pixel(x: int, y: int) -> Pixel:
        if y > 40:
            return (150, 111, 80)  # the table
        dx, dy = (x - 32) / 18, (y - 24) / 16
        if dx * dx + dy * dy <= 1:
            if x - 26 == (y - 12) // 2 and 12 <= y <= 36:
                return (40, 40, 40)  # the crack
            return (196, 224, 236)  # the glass
        return (238, 238, 232)  # the wall

    return png(width, height, pixel)


def crushed_box() -> bytes:
    """A cardboard box with one corner pushed in."""
    width, height = 64, 48

    def pixel(x: int, y: int) -> Pixel:
        inside = 8 <= x <= 56 and 8 <= y <= 42
        crushed = x + y < 26
        if inside and not crushed:
            return (176, 132, 84) if (x + y) % 9 else (150, 110, 70)
        return (230, 230, 226)

    return png(width, height, pixel)


#: Photos customers of the demo sent: (conversation id, file name, drawing).
DEMO_PHOTOS = (
    ("conv-010", "kettle-crack.png", cracked_kettle),
    ("conv-010", "box-corner.png", crushed_box),
)
