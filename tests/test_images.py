"""Image files into the model's input: the data set's own images unchanged, photos cleaned up, bad files refused."""
import struct
import warnings
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from minidl.app.cli import main
from minidl.data.fashion_mnist import load_fashion_mnist
from minidl.errors import ConfigError, DatasetError
from minidl.data.images import MAX_PIXELS, has_object, load_image
from minidl.app.inference import load_model, predict_files


@pytest.fixture(scope="module")
def run_dir(tiny_fashion, tmp_path_factory):
    """A small MLP trained for one epoch on the stand-in data (any fixed weights would do)."""
    out = tmp_path_factory.mktemp("images") / "run"
    assert main(["train", "mlp", "--data-dir", str(tiny_fashion), "--hidden", "32", "--epochs", "1",
                 "--device", "cpu", "--out", str(out), "--no-plots", "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def dark_background_images(tiny_fashion) -> torch.Tensor:
    """The stand-in's test images with a black 4-pixel border, as Fashion-MNIST's own images have."""
    images = load_fashion_mnist(tiny_fashion)[2].clone()
    images[:, :4], images[:, -4:], images[:, :, :4], images[:, :, -4:] = 0, 0, 0, 0
    return images


def save_pngs(images, folder) -> list[str]:
    folder.mkdir()
    paths = [str(folder / f"{i:03d}.png") for i in range(len(images))]
    for image, path in zip(images, paths):
        Image.fromarray(image.numpy()).save(path)
    return paths


def predicted_classes(lines) -> list[str]:
    # "path: Ankle boot 0.71, Sneaker 0.20, ..." -> "Ankle boot"
    return [line.split(": ", 1)[1].split(", ")[0].rsplit(" ", 1)[0] for line in lines]


def classes_of_tensors(run_dir, images) -> list[str]:
    model, _, state = load_model(run_dir)
    with torch.no_grad():
        return [state["data"]["class_names"][i] for i in model(images.float() / 255).argmax(dim=1).tolist()]


def assert_predicted_as_tensors(run_dir, images, paths, **options):
    assert torch.equal(torch.stack([load_image(p, **options) for p in paths]), images)
    assert predicted_classes(predict_files(run_dir, paths, **options)) == classes_of_tensors(run_dir, images)


def test_images_in_the_data_sets_form_reach_the_model_unchanged(run_dir, dark_background_images, tmp_path):
    # 28x28 with a dark background: no crop, no re-centring, no resampling
    paths = save_pngs(dark_background_images, tmp_path / "dark")
    assert_predicted_as_tensors(run_dir, dark_background_images, paths)


def test_raw_gives_the_model_the_pixels_as_they_are(run_dir, tiny_fashion, tmp_path):
    images = load_fashion_mnist(tiny_fashion)[2]  # random templates: about half their borders are light
    paths = save_pngs(images, tmp_path / "raw")
    assert_predicted_as_tensors(run_dir, images, paths, raw=True)


def test_the_test_sets_own_pngs_predict_as_the_tensors_do(run_dir, fashion_root, tmp_path):
    images = load_fashion_mnist(fashion_root, download=False)[2][:200]
    paths = save_pngs(images, tmp_path / "fashion-mnist")
    assert_predicted_as_tensors(run_dir, images, paths)


def test_16_bit_grey_is_scaled_by_its_bit_depth(dark_background_images, tmp_path):
    image = dark_background_images[0].numpy()
    Image.fromarray(image.astype(np.uint16) * 257).save(tmp_path / "deep.png")  # 0..65535, mode I;16
    assert torch.equal(load_image(tmp_path / "deep.png"), torch.from_numpy(image))
    photo = np.kron(255 - image, np.ones((3, 3), dtype=image.dtype))  # an 84x84 dark-on-light photo
    Image.fromarray(photo).save(tmp_path / "photo8.png")
    Image.fromarray(photo.astype(np.uint16) * 257).save(tmp_path / "photo16.png")
    assert torch.equal(load_image(tmp_path / "photo16.png"), load_image(tmp_path / "photo8.png"))


@pytest.mark.parametrize("colour", [0, 255])
def test_transparency_is_filled_with_the_background_that_shows_the_object(dark_background_images, tmp_path, colour):
    # a black (or white) object drawn by its alpha alone on a transparent background
    alpha = dark_background_images[0].numpy()
    rgba = np.dstack([np.full_like(alpha, colour)] * 3 + [alpha])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(rgba, "RGBA").convert("LA").save(tmp_path / "la.png")
    for name in ("rgba.png", "la.png"):
        assert torch.equal(load_image(tmp_path / name), torch.from_numpy(alpha))  # light on black


def test_a_blank_image_holds_no_object(run_dir, dark_background_images, tmp_path, capsys):
    blanks = {"white.png": Image.new("L", (60, 40), 255), "black.png": Image.new("L", (28, 28), 0),
              "grey.jpg": Image.new("RGB", (50, 50), (128, 128, 128)),
              "clear.png": Image.new("RGBA", (30, 30), (0, 0, 0, 0))}
    for name, image in blanks.items():
        image.save(tmp_path / name)
        assert not has_object(load_image(tmp_path / name))
    Image.fromarray(dark_background_images[0].numpy()).save(tmp_path / "shirt.png")
    paths = [str(tmp_path / name) for name in ("white.png", "shirt.png", *list(blanks)[1:])]
    assert main(["predict", str(run_dir), *paths]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and "holds no object" not in lines[1] and lines[1].count(",") == 2
    assert all(line.startswith(f"{path}: holds no object") for line, path in zip(lines, paths) if "shirt" not in path)


def png_header(path, width, height):
    """Write a PNG that announces width x height grey pixels (and holds none): a decompression bomb's header."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b""))
                     + chunk(b"IEND", b""))


@pytest.mark.parametrize("side", [10_000, 20_000])  # PIL warns at the first, refuses the second
def test_a_huge_image_is_refused_in_one_line(run_dir, tmp_path, capsys, side):
    png_header(tmp_path / "huge.png", side, side)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a DecompressionBombWarning leaking out would fail here
        code = main(["predict", str(run_dir), str(tmp_path / "huge.png")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "huge.png" in err and f"{MAX_PIXELS:,} pixels" in err


def test_raw_refuses_what_it_cannot_pass_unchanged(run_dir, dark_background_images, tmp_path, capsys):
    Image.fromarray(dark_background_images[0].numpy()).resize((56, 56)).save(tmp_path / "big.png")
    with pytest.raises(DatasetError, match="big.png: --raw takes 28x28 images as they are, this one is 56x56"):
        load_image(tmp_path / "big.png", raw=True)
    with pytest.raises(ConfigError, match="leave out --invert yes"):
        load_image(tmp_path / "big.png", raw=True, invert="yes")
    for extra in (["--raw"], ["--raw", "--invert", "no"]):
        assert main(["predict", str(run_dir), str(tmp_path / "big.png"), *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--raw" in err and "Traceback" not in err
