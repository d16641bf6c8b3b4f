#!/usr/bin/env python3
"""Makes the format fixtures in this folder and their expected PDQ hashes (expected.csv).

Each fixture is `reg-test-input/pen-and-coaster.png` (Meta's, BSD licence, see SOURCES.md)
shrunk to 320x255 and saved in another format or colour mode with Pillow. The expected hash is
what the reference pipeline gives: Pillow open, convert("RGB"), PyPI `pdqhash`.compute.
Run from this folder: python3 make.py   (needs pillow, numpy, pdqhash)
"""
import struct
import zlib

import numpy as np
import pdqhash
from PIL import Image


def hex_of(bits):
    # pdqhash returns the bits most significant first (bit 255 of the C++ Hash256 first), so the
    # string of bits read as a binary number is the C++ Hash256::format() hex.
    return "%064x" % int("".join("1" if b else "0" for b in bits), 2)


def png16_rgb(path, rgb8):
    """A 16-bit-per-channel RGB PNG (Pillow cannot write one): sample = v * 257 + noise."""
    h, w, _ = rgb8.shape
    noise = (np.arange(h * w * 3).reshape(h, w, 3) * 37 % 251).astype(np.uint16)
    rgb16 = rgb8.astype(np.uint16) * 257 ^ noise
    raw = b"".join(b"\x00" + rgb16[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    src = Image.open("../reg-test-input/pen-and-coaster.png").convert("RGBA").resize((320, 255), Image.LANCZOS)
    rgb = src.convert("RGB")
    rgb.convert("P", palette=Image.ADAPTIVE, colors=200).save("pen.gif")
    p_trns = rgb.convert("P", palette=Image.ADAPTIVE, colors=64)
    p_trns.info["transparency"] = 3
    p_trns.save("pen-transparent.gif", transparency=3)
    p_trns.save("pen-palette-trns.png", transparency=3)
    second = rgb.transpose(Image.ROTATE_180)
    rgb.save("pen-animated.gif", save_all=True, append_images=[second], duration=100, loop=0)
    rgb.save("pen.bmp")
    rgb.convert("P", palette=Image.ADAPTIVE, colors=256).save("pen-palette.bmp")
    src.save("pen-rgba.bmp")
    rgb.save("pen.tif")
    rgb.save("pen-lzw.tif", compression="tiff_lzw")
    rgb.convert("L").save("pen-grey.tif")
    rgb.convert("CMYK").save("pen-cmyk.tif")
    rgb.convert("CMYK").save("pen-cmyk.jpg", quality=90)
    rgb.convert("L").save("pen-grey.jpg", quality=90)
    rgb.save("pen-422-progressive.jpg", quality=85, subsampling=1, progressive=True)
    rgb.save("pen-444.jpg", quality=95, subsampling=0)
    src.save("pen-alpha-lossy.webp", quality=80)
    rgb.save("pen-lossless.webp", lossless=True)
    rgb.convert("1").save("pen-1bit.png")
    grey16 = (np.asarray(rgb.convert("L")).astype(np.uint16) * 3 // 2)  # some values above 255
    Image.fromarray(grey16.astype(np.uint16)).save("pen-grey16.png")
    png16_rgb("pen-rgb16.png", np.asarray(rgb))

    names = [
        "pen.gif", "pen-transparent.gif", "pen-animated.gif", "pen-palette-trns.png", "pen.bmp", "pen-palette.bmp",
        "pen-rgba.bmp", "pen.tif", "pen-lzw.tif", "pen-grey.tif", "pen-cmyk.tif", "pen-cmyk.jpg", "pen-grey.jpg",
        "pen-422-progressive.jpg", "pen-444.jpg", "pen-alpha-lossy.webp", "pen-lossless.webp",
        "pen-1bit.png", "pen-grey16.png", "pen-rgb16.png",
    ]
    with open("expected.csv", "w") as out:
        out.write("file,width,height,pil_mode,hash,quality\n")
        for name in names:
            im = Image.open(name)
            arr = np.asarray(im.convert("RGB"))
            bits, quality = pdqhash.compute(arr)
            out.write(f"{name},{im.width},{im.height},{im.mode},{hex_of(bits)},{quality}\n")


if __name__ == "__main__":
    main()
