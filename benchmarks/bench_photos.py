"""Seconds to decode a folder of phone-sized photos into 28x28 inputs: one image at a time at full size (the
way minidl read folders before issue 28) against JPEG draft mode on every core (minidl.data.image_folder).

    python benchmarks/bench_photos.py [--photos 240] [--width 3000] [--height 2000] [--size 28] [--repeats 3]

The photos are generated once into a temp folder (smooth random colour fields, JPEG quality 90, a
quarter of them tagged EXIF Orientation 6), then decoded, grey and colour, by both in the same run,
the median of ``--repeats``:
- ``full size, one at a time``: each file opened, decoded whole, turned upright, resized to the square;
- ``draft, every core``: ``image_folder.decode_all``, as ``load_image_folder`` decodes an uncached folder.
Prints the seconds and the ratio; ``main()`` returns the rows for run_all.py and writes results/photos.json.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from common import machine, median_seconds, print_table, write_json


def write_photos(folder: Path, count: int, width: int, height: int, seed: int = 0) -> list[Path]:
    """Write ``count`` JPEGs of ``width`` x ``height`` (a quarter tagged as turned) and return their paths."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        coarse = rng.integers(0, 256, (height // 100 + 1, width // 100 + 1, 3), dtype=np.uint8)
        photo = Image.fromarray(coarse).resize((width, height), Image.BILINEAR)
        exif = photo.getexif()
        if i % 4 == 0:
            exif[0x0112] = 6
        path = folder / ("cat" if i % 2 else "dog") / f"{i:04d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        photo.save(path, quality=90, exif=exif)
        paths.append(path)
    return paths


def full_size_one_at_a_time(paths: list[Path], size: int, channels: int) -> np.ndarray:
    """Return the images decoded as before draft mode and threads: whole, one after another."""
    from PIL import Image

    from minidl.data.images import read_grey, read_rgb

    out = []
    for path in paths:
        pixels = read_grey(path) if channels == 1 else read_rgb(path)
        out.append(np.array(Image.fromarray(pixels).resize((size, size), Image.LANCZOS)))
    return np.stack(out)


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=240)
    parser.add_argument("--width", type=int, default=3000)
    parser.add_argument("--height", type=int, default=2000)
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    from minidl.data.image_folder import decode_all

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        paths = write_photos(Path(folder), args.photos, args.width, args.height)
        for channels, colour in ((1, "grey"), (3, "colour")):
            old = median_seconds(lambda c=channels: full_size_one_at_a_time(paths, args.size, c), args.repeats)
            new = median_seconds(lambda c=channels: decode_all(paths, args.size, c, skip_bad=False), args.repeats)
            rows.append({"channels": colour, "old_seconds": old, "new_seconds": new, "speedup": old / new})
    print_table(rows, [("channels", "decoded", "s"), ("old_seconds", "full size, one at a time (s)", ".2f"),
                       ("new_seconds", "draft, every core (s)", ".2f"), ("speedup", "x faster", ".1f")],
                f"Decoding {args.photos} JPEGs of {args.width}x{args.height} to {args.size}x{args.size}, "
                f"median of {args.repeats}")
    write_json("photos", {"machine": machine(), "photos": args.photos, "width": args.width, "height": args.height,
                          "size": args.size, "rows": rows})
    return rows


if __name__ == "__main__":
    main()
