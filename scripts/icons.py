#!/usr/bin/env python3
"""Draws the app's icons into public/ (no image library needed): a white plate with a green
centre on the dark green of the top bar, the same shapes as public/icon.svg. Run once after
changing the design; the PNGs are committed.

    python3 scripts/icons.py
"""
import math
import struct
import zlib
from pathlib import Path

BACKGROUND = (0x1F, 0x2A, 0x24)
PLATE = (0xF7, 0xF4, 0xEC)
CENTRE = (0x3E, 0x8E, 0x5E)


def pixel(x: float, y: float, size: int, maskable: bool) -> tuple:
    """The colour at (x, y): the plate's rings, measured from the centre in icon units."""
    unit = size / 100
    # A maskable icon keeps its drawing inside the middle 80 % (the safe zone).
    scale = 0.8 if maskable else 1.0
    distance = math.hypot(x - size / 2, y - size / 2) / (unit * scale)
    if not maskable:
        # Rounded corners: outside a 22-unit radius at each corner is transparent.
        corner = 22 * unit
        cx = min(max(x, corner), size - corner)
        cy = min(max(y, corner), size - corner)
        if math.hypot(x - cx, y - cy) > corner:
            return (0, 0, 0, 0)
    if distance <= 16:
        return CENTRE + (255,)
    if distance <= 34:
        return PLATE + (255,)
    return BACKGROUND + (255,)


def png(size: int, maskable: bool = False) -> bytes:
    rows = bytearray()
    for y in range(size):
        rows.append(0)
        for x in range(size):
            rows.extend(pixel(x + 0.5, y + 0.5, size, maskable))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + chunk(b"IEND", b"")


public = Path(__file__).resolve().parent.parent / "public"
public.mkdir(exist_ok=True)
for name, size, maskable in [
    ("icon-192.png", 192, False),
    ("icon-512.png", 512, False),
    ("icon-maskable-512.png", 512, True),
    ("apple-touch-icon.png", 180, True),
]:
    (public / name).write_bytes(png(size, maskable))
    print(name)
