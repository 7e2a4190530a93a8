"""Turning an image file into the model's input: a (28, 28) uint8 image in Fashion-MNIST's convention.

Fashion-MNIST shows a light object on a black background, centred in 28x28 pixels. An image already
in that form (28x28, dark background, e.g. one of the data set's own images saved as PNG) reaches
the model pixel for pixel. A photo is cleaned up the way the data set's images were made: inverted
when its background is light, cropped to the object, scaled so its longer side is 28 pixels and
centred. Grey levels are scaled by the file's bit depth (8 or 16 bits), and a transparent
background is filled with whichever of black or white sets the object off.

An image folder run with ``--channels 3`` reads its files by the same rules in colour
(:func:`read_rgb`): grey and palette files become RGB, transparency is filled in by the grey rule's
background choice, 16-bit grey is scaled as above.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch

from minidl.errors import ConfigError, DatasetError

IMAGE_SIZE = 28
MAX_PIXELS = 50_000_000  # a 48-megapixel photo fits; larger files are refused before they are decoded
OBJECT_LEVEL = 32  # grey levels (of 255) by which an object's pixels stand out from the background
INVERT_CHOICES = ("auto", "yes", "no")
ORIENTATION = 0x0112  # the EXIF tag saying how a camera held the photo: 1 upright, 6 turned a quarter, ...


def load_image(path, *, invert: str = "auto", raw: bool = False) -> torch.Tensor:
    """Return an image file as a (28, 28) uint8 tensor in Fashion-MNIST's convention.

    ``invert="auto"`` inverts an image whose border is mostly light ("yes"/"no" force the choice).
    An image of another size is then cropped to its object, scaled and centred; a 28x28 image is
    already the model's input and is never resampled. ``raw=True`` skips all of it: the file must be
    28x28 and its grey levels go to the model as they are.
    """
    if invert not in INVERT_CHOICES:
        raise ConfigError(f"invert={invert!r}: choose one of {', '.join(INVERT_CHOICES)}")
    if raw and invert != "auto":
        raise ConfigError(f"--raw gives the model the pixels as they are; leave out --invert {invert}")
    grey = read_grey(path)  # (H, W) uint8
    if raw and grey.shape != (IMAGE_SIZE, IMAGE_SIZE):
        raise DatasetError(f"{path}: --raw takes 28x28 images as they are, this one is "
                           f"{grey.shape[1]}x{grey.shape[0]}; leave out --raw to fit it to 28x28")
    if not raw and (invert == "yes" or (invert == "auto" and _light_background(grey))):
        grey = 255 - grey
    if grey.shape != (IMAGE_SIZE, IMAGE_SIZE):
        grey = _fit_to_square(grey)
    return torch.tensor(grey, dtype=torch.uint8)


def has_object(image: torch.Tensor) -> bool:
    """Return whether some pixels of an image stand out from the rest (a blank image has none).

    >>> has_object(torch.zeros(28, 28, dtype=torch.uint8))
    False
    """
    return int(image.max()) - int(image.min()) >= OBJECT_LEVEL


def read_grey(path, shrink_to: int | None = None) -> np.ndarray:
    """Return an image file's grey levels as a (height, width) uint8 array, upright, alpha filled in.

    Files over MAX_PIXELS pixels are refused from their header, before anything is decoded. A photo
    is turned as its EXIF Orientation says (as viewers show it). ``shrink_to``: a JPEG at least twice
    that size each way may be decoded at 1/2, 1/4 or 1/8 of its size (PIL's draft mode), never below
    ``shrink_to`` pixels each way: the caller resizes it to that square anyway.
    """
    return _read(path, _grey, shrink_to)


def read_rgb(path, shrink_to: int | None = None) -> np.ndarray:
    """Return an image file as a (height, width, 3) uint8 RGB array, alpha filled in as read_grey's.

    Grey and palette files become RGB (a grey file's three channels equal read_grey's levels);
    16-bit grey is scaled by bit depth as read_grey's. A 16-bit RGB file comes as PIL decodes it:
    the top 8 bits of each channel (within one level of read_grey's rounding). ``shrink_to`` and the
    EXIF orientation as read_grey's.
    """
    return _read(path, _rgb, shrink_to)


def _read(path, decode, shrink_to: int | None = None) -> np.ndarray:
    """Return ``decode(image)`` of the opened file; DatasetError for a missing, unreadable or too large file."""
    from PIL import Image, UnidentifiedImageError

    size = None
    try:
        with open(path, "rb") as f, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # PIL's own limit: ours is lower
            with Image.open(f) as im:
                size = im.size
                if size[0] * size[1] <= MAX_PIXELS:
                    if shrink_to and im.format == "JPEG" and min(size) >= 2 * shrink_to:
                        im.draft(None, (shrink_to, shrink_to))  # decoded at 1/s of its size, still >= shrink_to
                    return decode(upright(im))
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such image file") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        pass  # larger than PIL's limit, so larger than ours
    except (UnidentifiedImageError, OSError) as e:
        raise DatasetError(f"{path}: cannot read it as an image (PNG or JPEG expected): {e}") from None
    pixels = f"{size[0]}x{size[1]} pixels" if size else "a larger image"
    raise DatasetError(f"{path}: {pixels}, more than the {MAX_PIXELS:,} pixels minidl reads; shrink it first")


def upright(im):
    """Return the PIL image turned as its EXIF Orientation tag says (2 to 8), or ``im`` itself when it has none."""
    from PIL import ImageOps

    if im.getexif().get(ORIENTATION, 1) in (None, 1):
        return im
    return ImageOps.exif_transpose(im)


def _grey(im) -> np.ndarray:
    if im.mode.startswith("I"):  # 16-bit grey (I;16), or 32-bit integers (I; older PIL reads 16-bit PNGs so)
        values = np.clip(np.asarray(im, dtype=np.int64), 0, None)
        top = 65535 if im.mode != "I" or values.max(initial=0) <= 65535 else 2**31 - 1
        return ((values * 255 + top // 2) // top).astype(np.uint8)
    if im.has_transparency_data:
        rgba = im.convert("RGBA")
        grey = np.asarray(rgba.convert("L"), dtype=np.int64)
        return _composite(grey, grey, np.asarray(rgba.getchannel("A"), dtype=np.int64))
    return np.array(im.convert("L"))


def _rgb(im) -> np.ndarray:
    if im.mode.startswith("I"):  # 16-bit grey: read_grey's scaling, in all three channels
        return np.repeat(_grey(im)[:, :, None], 3, axis=2)
    if im.has_transparency_data:
        rgba = im.convert("RGBA")
        levels = np.asarray(rgba, dtype=np.int64)  # (H, W, 4)
        grey = np.asarray(rgba.convert("L"), dtype=np.int64)  # read_grey's levels choose the background
        return _composite(levels[:, :, :3], grey, levels[:, :, 3])
    return np.array(im.convert("RGB"))


def _composite(levels: np.ndarray, grey: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Return levels (H, W) or (H, W, 3) laid over the background that sets the grey off: white under a dark object."""
    covered = alpha.sum()
    if covered == 0:  # fully transparent: nothing to see
        return np.zeros(levels.shape, dtype=np.uint8)
    background = 255 if (grey * alpha).sum() / covered < 128 else 0  # then inverted as any light photo
    alpha = alpha[:, :, None] if levels.ndim == 3 else alpha  # one alpha for the three channels
    return ((levels * alpha + background * (255 - alpha) + 127) // 255).astype(np.uint8)


def _light_background(grey: np.ndarray) -> bool:
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return border.mean() > 127


def _fit_to_square(grey: np.ndarray) -> np.ndarray:
    from PIL import Image

    rows = np.flatnonzero((grey > OBJECT_LEVEL).any(axis=1))
    cols = np.flatnonzero((grey > OBJECT_LEVEL).any(axis=0))
    if len(rows) and len(cols):  # crop to the object; a blank image stays whole
        grey = grey[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]
    h, w = grey.shape
    scale = IMAGE_SIZE / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = Image.fromarray(np.ascontiguousarray(grey)).resize(size, Image.LANCZOS)
    canvas = Image.new("L", (IMAGE_SIZE, IMAGE_SIZE), 0)
    canvas.paste(small, ((IMAGE_SIZE - size[0]) // 2, (IMAGE_SIZE - size[1]) // 2))
    return np.array(canvas)
