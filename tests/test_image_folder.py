"""Image folders: a folder per class, decoded like predict's images, cached, and trained on as IDX sets are."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from minidl.app.cli import main
from minidl.config.train import TrainConfig
from minidl.data import image_folder
from minidl.data.idx import write_idx
from minidl.data.idx_sets import read_set
from minidl.data.image_folder import load_image_folder
from minidl.errors import ConfigError, DatasetError
from minidl.data.loader import shifted
from minidl.data.images import read_grey, read_rgb
from minidl.training.fit import fit

MNIST_SAMPLE = Path(__file__).parents[2] / "shared" / "data" / "mnist-sample"  # beside the checkout


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write_pngs(folder, images, labels, names=None):
    """Write each image as folder/<class>/<index>.png (zero-padded, so names sort as the indices)."""
    for i, (image, label) in enumerate(zip(images, labels)):
        path = folder / (names[label] if names else str(int(label))) / f"{i:05d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.asarray(image, dtype=np.uint8)).save(path)


def tiny_tree(root, n=12, size=28, classes=("cat", "dog", "fox"), seed=0):
    """Write n images of each class (a class = one brightness band) as one tree; return the root."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(classes)), n)
    images = [rng.integers(80 * c, 80 * c + 60, (size, size)) for c in labels]
    write_pngs(root, images, labels, classes)
    return root


@pytest.fixture(scope="module")
def digits(tmp_path_factory, make_fake_fashion):
    """1,500/400 real MNIST digits (the fake Fashion-MNIST without the sample) as IDX and as PNG folders."""
    base = tmp_path_factory.mktemp("digits")
    if (MNIST_SAMPLE / "train-images-idx3-ubyte.gz").is_file():
        data, dataset = read_set("mnist", MNIST_SAMPLE, download=False), "mnist"
    else:  # the same test on the stand-in
        data, dataset = read_set("fashion-mnist", make_fake_fashion(base / "fake"), download=False), "fashion-mnist"
    arrays = data.X_train[:1500], data.y_train[:1500], data.X_test[:400], data.y_test[:400]
    (base / "idx").mkdir()
    for name, array in zip(("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"), arrays):
        write_idx(base / "idx" / f"{name}.gz", array.numpy().astype(np.uint8))
    write_pngs(base / "png" / "train", *arrays[:2])
    write_pngs(base / "png" / "test", *arrays[2:])
    return base, dataset, arrays


# --- the same images, the same run -----------------------------------------------------------------

def test_a_folder_holds_the_idx_images_in_their_order(digits):
    base, _, arrays = digits
    folder = load_image_folder(base / "png")
    assert folder.class_names == tuple(str(d) for d in range(10)) and folder.test_fraction is None
    for got, want in zip((folder.X_train, folder.y_train, folder.X_test, folder.y_test), arrays):
        assert torch.equal(got, want)


def test_an_image_folder_run_equals_the_idx_run(digits):
    base, dataset, arrays = digits
    common = dict(model="mlp", epochs=2, device="cpu", plots=False)
    idx = fit(TrainConfig(dataset=dataset, data_dir=str(base / "idx"), **common), progress=False)
    png = fit(TrainConfig(images=str(base / "png"), **common), progress=False)
    assert png.final["test_acc"] == idx.final["test_acc"] and png.final["test_loss"] == idx.final["test_loss"]
    assert png.summary["train_images"] == len(arrays[0]) and png.summary["skipped_images"] == []


# --- one tree, split by --test-fraction ------------------------------------------------------------

def test_one_tree_is_split_per_class_with_the_seed(tmp_path):
    root = tiny_tree(tmp_path / "pets", n=10)
    a = load_image_folder(root, test_fraction=0.3, seed=1)
    assert a.class_names == ("cat", "dog", "fox") and a.y_test.bincount().tolist() == [3, 3, 3]
    assert a.y_train.bincount().tolist() == [7, 7, 7]
    assert torch.equal(load_image_folder(root, test_fraction=0.3, seed=1).X_test, a.X_test)
    assert not torch.equal(load_image_folder(root, test_fraction=0.3, seed=2).X_test, a.X_test)
    assert load_image_folder(root).y_test.bincount().tolist() == [2, 2, 2]  # the default 0.2


def test_test_fraction_with_its_own_test_folder_is_refused(tmp_path):
    tiny_tree(tmp_path / "train", n=2)
    tiny_tree(tmp_path / "test", n=2)
    with pytest.raises(ConfigError, match="has its own train/ and test/; leave out --test-fraction"):
        load_image_folder(tmp_path, test_fraction=0.5)


# --- decoding ------------------------------------------------------------------------------------

def test_images_decode_as_predict_reads_them_and_are_resized(tmp_path):
    root = tiny_tree(tmp_path / "pets", n=4)
    deep = (np.arange(28 * 28, dtype=np.uint16).reshape(28, 28) * 80)
    Image.fromarray(deep).save(root / "cat" / "x16.png")  # 16-bit grey
    rgba = np.zeros((28, 28, 4), dtype=np.uint8)
    rgba[8:20, 8:20] = (255, 255, 255, 255)  # a white square on transparency
    Image.fromarray(rgba, "RGBA").save(root / "dog" / "xalpha.png")
    Image.fromarray(np.full((40, 30), 200, dtype=np.uint8)).save(root / "fox" / "xbig.jpg")
    folder = load_image_folder(root, test_fraction=0.25)
    X = torch.cat([folder.X_train, folder.X_test])
    for path in (root / "cat" / "x16.png", root / "dog" / "xalpha.png"):
        assert any(torch.equal(x, torch.from_numpy(read_grey(path))) for x in X)
    small = load_image_folder(root, size=16, test_fraction=0.25)
    assert small.X_train.shape[1:] == (16, 16) and small.X_train.dtype == torch.uint8


def test_an_image_size_run_trains_and_predicts(capsys, tmp_path):
    root = tiny_tree(tmp_path / "pets", n=8, size=20)
    out = tmp_path / "run"
    code, _, err = run(capsys, "train", "mlp", "--images", str(root), "--image-size", "16", "--hidden", "8",
                       "--epochs", "2", "--device", "cpu", "--out", str(out), "--quiet")
    assert code == 0, err
    assert (out / "predictions.png").is_file() and (out / "confusion.png").is_file()
    code, stdout, _ = run(capsys, "predict", str(out), str(root / "fox" / "00023.png"))
    assert code == 0 and stdout.split(": ")[1].split()[0] in ("cat", "dog", "fox")
    code, _, err = run(capsys, "predict", str(out), str(root / "fox" / "00023.png"), "--raw")
    assert code == 2 and "trained on an image folder" in err and "--raw" in err
    code, stdout, _ = run(capsys, "evaluate", str(out))
    assert code == 0 and "fox" in stdout


# --- colour: --channels 3 ------------------------------------------------------------------------

RED, GREEN = (255, 0, 0), (0, 130, 0)  # equal luminance: PIL makes both grey level 76


def squares(root, n_train=20, n_test=5, size=8, seed=0):
    """Write train/ and test/ of red and green squares, drawn in pairs at the same place: only colour tells them."""
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("test", n_test)):
        for i in range(n):
            (y0, x0), k = rng.integers(0, size // 2, 2), rng.integers(size // 3, size // 2 + 1)
            for name, colour in (("green", GREEN), ("red", RED)):
                image = np.zeros((size, size, 3), dtype=np.uint8)
                image[y0:y0 + k, x0:x0 + k] = colour
                path = root / split / name / f"{i:03d}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(image).save(path)
    return root


def test_a_colour_run_learns_what_a_grey_run_cannot_see(capsys, tmp_path):
    root = squares(tmp_path / "squares")
    grey = load_image_folder(root, size=8)
    assert torch.equal(grey.X_test[grey.y_test == 0], grey.X_test[grey.y_test == 1])  # equal luminance
    flags = ["--images", str(root), "--image-size", "8", "--lr", "1", "--batch-size", "8", "--epochs", "10",
             "--device", "cpu", "--quiet"]
    accuracy = {}
    for channels in ("1", "3"):
        out = tmp_path / f"run{channels}"
        code, _, err = run(capsys, "train", "softmax", *flags, "--channels", channels, "--out", str(out))
        assert code == 0, err
        accuracy[channels] = json.loads((out / "summary.json").read_text())["final"]["test_acc"]
    assert accuracy == {"1": 0.5, "3": 1.0}  # grey: each pair is one input, right once and wrong once
    assert json.loads((tmp_path / "run3" / "config.json").read_text())["config"]["channels"] == 3
    assert (tmp_path / "run3" / "predictions.png").is_file()


def test_predict_on_a_colour_run_reproduces_evaluate(capsys, tmp_path):
    root = squares(tmp_path / "squares", n_train=12, n_test=8, size=10, seed=1)
    out = tmp_path / "run"
    code, _, err = run(capsys, "train", "mlp", "--images", str(root), "--image-size", "6", "--channels", "3",
                       "--hidden", "8", "--epochs", "2", "--device", "cpu", "--no-plots", "--out", str(out), "--quiet")
    assert code == 0, err
    code, stdout, _ = run(capsys, "evaluate", str(out))
    evaluated = float(stdout.split("test accuracy ")[1].split()[0])
    files = sorted((root / "test").rglob("*.png"))
    code, stdout, err = run(capsys, "predict", str(out), *map(str, files))
    assert code == 0, err
    predicted = [line.split(": ")[1].split()[0] for line in stdout.splitlines()]
    assert len(predicted) == len(files)
    assert np.mean([p == f.parent.name for p, f in zip(predicted, files)]) == pytest.approx(evaluated, abs=1e-4)
    code, _, err = run(capsys, "train", "--resume", str(out), "--epochs", "3", "--channels", "1")
    assert code == 2 and "resuming with --channels 1 (the run so far used 3)" in err and err.count("\n") == 1
    code, _, err = run(capsys, "train", "--resume", str(out), "--epochs", "3", "--quiet")
    assert code == 0, err


def png16_rgb(path, rgb):
    """Write (H, W, 3) uint16 values as a 16-bit RGB PNG (PIL writes none): the chunks by hand."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    h, w, _ = rgb.shape
    rows = b"".join(b"\0" + row.astype(">u2").tobytes() for row in rgb)  # filter 0 before each row
    header = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)  # 16 bits, colour type 2 (RGB)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
                     + chunk(b"IEND", b""))


def test_colour_decodes_by_the_grey_rules(tmp_path):
    rgb = np.zeros((6, 6, 3), dtype=np.uint8)
    rgb[1:4, 2:5] = RED
    rgb[4:, :2] = (10, 200, 90)
    png16_rgb(tmp_path / "deep.png", rgb.astype(np.uint16) * 257)  # 0..65535: scaled by the bit depth
    assert np.array_equal(read_rgb(tmp_path / "deep.png"), rgb)
    palette = Image.fromarray(rgb).quantize(colors=3, method=Image.Quantize.MAXCOVERAGE)
    palette.save(tmp_path / "palette.png")
    assert Image.open(tmp_path / "palette.png").mode == "P"
    assert np.array_equal(read_rgb(tmp_path / "palette.png"), np.asarray(palette.convert("RGB")))
    grey = np.arange(36, dtype=np.uint8).reshape(6, 6) * 7
    Image.fromarray(grey).save(tmp_path / "grey.png")
    Image.fromarray(grey.astype(np.uint16) * 257).save(tmp_path / "grey16.png")  # 16-bit grey, mode I;16
    for name in ("grey.png", "grey16.png"):  # each channel holds read_grey's levels
        assert np.array_equal(read_rgb(tmp_path / name), np.repeat(read_grey(tmp_path / name)[:, :, None], 3, 2))
    rgba = np.zeros((6, 6, 4), dtype=np.uint8)
    rgba[1:4, 1:4] = (*RED, 255)  # a dark red square on transparency: a white background, as in grey
    rgba[0, 0] = (*RED, 128)  # half covered: half way to the background
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    got, grey = read_rgb(tmp_path / "rgba.png"), read_grey(tmp_path / "rgba.png")
    assert (got[1:4, 1:4] == RED).all() and (got[5, 5] == 255).all() and grey[5, 5] == 255
    assert got[0, 0].tolist() == [255, 127, 127]


def test_a_colour_folder_is_stored_channels_first_and_resized(tmp_path):
    root = squares(tmp_path / "squares", n_train=2, n_test=1, size=8)
    folder = load_image_folder(root, size=4, channels=3)
    assert folder.X_train.shape == (4, 3, 4, 4) and folder.X_train.dtype == torch.uint8
    assert "colour images of 4x4" in folder.describe()
    same = load_image_folder(root, size=8, channels=3).X_test[1]  # test/red/000.png, as read
    assert torch.equal(same, torch.from_numpy(read_rgb(root / "test" / "red" / "000.png")).permute(2, 0, 1))
    with pytest.raises(ConfigError, match="--channels must be 1 .grey. or 3"):
        load_image_folder(root, channels=2)


def test_the_cache_keeps_grey_and_colour_apart(tmp_path, monkeypatch):
    root = squares(tmp_path / "squares", n_train=3, n_test=1)
    grey, colour = load_image_folder(root, size=8), load_image_folder(root, size=8, channels=3)
    assert grey.X_train.shape == (6, 8, 8) and colour.X_train.shape == (6, 3, 8, 8)
    monkeypatch.setattr(image_folder, "decode_image", lambda *a: pytest.fail("decoded again despite the cache"))
    assert torch.equal(load_image_folder(root, size=8, channels=3).X_train, colour.X_train)
    assert torch.equal(load_image_folder(root, size=8).X_train, grey.X_train)


def test_a_shift_moves_every_channel_of_an_image_alike():
    X = torch.rand(5, 3, 8, 8)
    moved = shifted(X, 2, torch.Generator().manual_seed(0))
    for c in range(3):  # the same offsets as a grey image of that channel draws
        assert torch.equal(moved[:, c], shifted(X[:, c], 2, torch.Generator().manual_seed(0)))


# --- unreadable files ------------------------------------------------------------------------------

def test_an_unreadable_file_is_named_or_skipped_and_counted(capsys, tmp_path):
    root = tiny_tree(tmp_path / "pets", n=5)
    (root / "dog" / "broken.png").write_bytes(b"not a png")
    (root / "dog" / "notes.txt").write_text("not an image, and not named like one: ignored")
    code, _, err = run(capsys, "train", "softmax", "--images", str(root), "--epochs", "1", "--device", "cpu",
                       "--no-plots", "--out", str(tmp_path / "a"))
    assert code == 2 and "broken.png" in err and "--skip-bad-images" in err and err.count("\n") == 1
    code, _, err = run(capsys, "train", "softmax", "--images", str(root), "--epochs", "1", "--device", "cpu",
                       "--no-plots", "--skip-bad-images", "--out", str(tmp_path / "b"), "--quiet")
    assert code == 0, err
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summary["skipped_images"] == ["dog/broken.png"] and summary["train_images"] + summary["test_images"] == 15
    with pytest.raises(DatasetError, match="broken.png"):  # the cache remembers it, and still refuses
        load_image_folder(root)


# --- the cache -------------------------------------------------------------------------------------

def test_a_second_load_decodes_nothing_and_a_changed_file_is_seen(tmp_path, monkeypatch):
    root = tiny_tree(tmp_path / "pets", n=4)
    first = load_image_folder(root)
    real = image_folder.decode_image
    monkeypatch.setattr(image_folder, "decode_image", lambda *a: pytest.fail("decoded again despite the cache"))
    assert torch.equal(load_image_folder(root).X_train, first.X_train)
    monkeypatch.setattr(image_folder, "decode_image", real)
    Image.fromarray(np.zeros((28, 28), dtype=np.uint8)).save(root / "cat" / "00000.png")
    assert not torch.equal(torch.cat([(f := load_image_folder(root)).X_train, f.X_test]).sum(),
                           torch.cat([first.X_train, first.X_test]).sum())


# --- bad folders and flags: one line each ---------------------------------------------------------

def _mistake(tmp_path, case):
    root = tmp_path / "data"
    if case == "train only":
        tiny_tree(root / "train", n=2)
    elif case == "other classes":
        tiny_tree(root / "train", n=2)
        tiny_tree(root / "test", n=2, classes=("cat", "dog", "owl"))
    elif case == "one class":
        tiny_tree(root, n=2, classes=("cat",))
    elif case == "empty class":
        tiny_tree(root, n=2)
        (root / "owl").mkdir()
    elif case == "a file":
        root.write_text("not a folder")
    return root


@pytest.mark.parametrize("case, message", [
    ("missing", "image folder {root} does not exist"),
    ("a file", "is a file, not a folder"),
    ("train only", "has train/ but no test/"),
    ("other classes", "class 'fox' is in {root}/train but not in {root}/test"),
    ("one class", "holds 1 class folder; a classifier needs at least 2"),
    ("empty class", "class folder {root}/owl holds no images"),
])
def test_bad_folders_get_one_line_naming_them(capsys, tmp_path, case, message):
    root = _mistake(tmp_path, case)
    code, _, err = run(capsys, "train", "mlp", "--images", str(root), "--device", "cpu", "--out", str(tmp_path / "r"))
    assert code == 2 and message.format(root=root) in err and err.count("\n") == 1


@pytest.mark.parametrize("argv, message", [
    (["--image-size", "32"], "--image-size applies to an image folder; add --images DIR"),
    (["--skip-bad-images"], "--skip-bad-images applies to an image folder"),
    (["--images", "x", "--dataset", "mnist"], "--images x names the data to train on; leave out --dataset mnist"),
    (["--images", "x", "--test-fraction", "1.5"], "--test-fraction must be a number from 0 to below 1"),
    (["--images", "x", "--image-size", "0"], "image size (--image-size) must be a whole number from 1 to 512"),
    (["--channels", "3"], "--channels applies to an image folder; add --images DIR"),
    (["--images", "x", "--channels", "2"], "--channels must be 1 (grey) or 3 (colour: red, green, blue), got 2"),
])
def test_bad_flags_get_one_line(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "train", "mlp", *argv)
    assert code == 2 and message in err and err.count("\n") == 1


def test_a_moved_folder_is_evaluated_and_other_images_are_caught(capsys, tmp_path):
    import shutil

    root = tiny_tree(tmp_path / "pets", n=6)
    out = tmp_path / "run"
    assert run(capsys, "train", "softmax", "--images", str(root), "--epochs", "1", "--device", "cpu",
               "--no-plots", "--out", str(out), "--quiet")[0] == 0
    moved = shutil.copytree(root, tmp_path / "moved")
    code, stdout, err = run(capsys, "evaluate", str(out), "--data-dir", str(moved))
    assert code == 0 and "test accuracy" in stdout, err
    tiny_tree(moved, n=9, seed=5)  # more images in each class: another split
    code, _, err = run(capsys, "evaluate", str(out), "--data-dir", str(moved))
    assert code == 2 and f"trained on the image folder {root}" in err and err.count("\n") == 1
    code, _, err = run(capsys, "train", "--resume", str(out), "--epochs", "2", "--quiet")
    assert code == 0, err


# --- photos as phones write them (issue 28) --------------------------------------------------------

def rotated_jpeg(path, orientation: int = 6):
    """Write a 60x40 JPEG, a bright band on its left, tagged with EXIF ``orientation`` (6: turn a quarter clockwise)."""
    pixels = np.zeros((40, 60), dtype=np.uint8)
    pixels[:, :15] = 250
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = orientation
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, quality=95, exif=exif)
    return path


def test_a_rotated_jpeg_is_read_upright_everywhere(tmp_path):
    from minidl.data.image_folder import decode_image
    from minidl.data.images import load_image

    path = rotated_jpeg(tmp_path / "photo.jpg")
    grey = read_grey(path)
    assert grey.shape == (60, 40)  # portrait, as a viewer shows it
    assert grey[:15].mean() > 200 and grey[20:].mean() < 30  # the band is now along the top
    assert read_rgb(path).shape == (60, 40, 3)
    assert decode_image(path, 20)[:5].mean() > 200  # a folder run's decoding (training and predict)
    assert load_image(path, invert="no").shape == (28, 28)  # predict on a Fashion-MNIST run reads it too


def test_an_image_needing_no_rotation_or_draft_decodes_as_before(tmp_path):
    path = rotated_jpeg(tmp_path / "plain.jpg", orientation=1)
    with Image.open(path) as im:
        before = np.array(im.convert("L"))  # the old decoding: the file as it is
    assert np.array_equal(read_grey(path), before)
    assert np.array_equal(read_grey(path, shrink_to=28), before)  # 60x40 is under twice 28: no draft


def test_a_large_jpeg_is_decoded_at_reduced_size_close_to_the_full_decode(tmp_path):
    from minidl.data.image_folder import decode_image

    rng = np.random.default_rng(0)
    smooth = np.kron(rng.integers(0, 255, (12, 18)), np.ones((100, 100))).astype(np.uint8)  # 1800x1200 blocks
    Image.fromarray(smooth).save(tmp_path / "big.jpg", quality=95)
    assert read_grey(tmp_path / "big.jpg", shrink_to=28).shape == (150, 225)  # decoded at 1/8: still >= 28
    full = np.array(Image.fromarray(read_grey(tmp_path / "big.jpg")).resize((28, 28), Image.LANCZOS))
    assert np.abs(decode_image(tmp_path / "big.jpg", 28).astype(int) - full).mean() < 3


def test_the_decoded_cache_key_names_the_upright_decoding(tmp_path):
    root = tmp_path / "photos"
    for label in ("a", "b"):
        for i in range(3):
            rotated_jpeg(root / label / f"{i}.jpg", orientation=6 if label == "a" else 1)
    folder = load_image_folder(root, size=20, test_fraction=0.34)
    images = torch.cat([folder.X_train, folder.X_test])
    labels = torch.cat([folder.y_train, folder.y_test])
    assert images[labels == 0][:, :5].float().mean() > 200  # class a: turned, the band along the top
    assert images[labels == 1][:, :, :5].float().mean() > 200  # class b: as written, the band on the left
    assert "upright" in image_folder.DECODER


def test_folders_decode_on_every_core_as_on_one(tmp_path):
    root = tiny_tree(tmp_path / "pets", n=6, size=40)
    files = sorted(root.rglob("*.png"))
    one = image_folder.decode_all(files, 16, 1, skip_bad=False, workers=1)
    many = image_folder.decode_all(files, 16, 1, skip_bad=False, workers=4)
    assert np.array_equal(one[0], many[0]) and one[1].all()


def test_predict_on_a_folder_run_reads_its_own_flat_images(capsys, tmp_path):
    root = tmp_path / "flat"
    for label, level in (("dark", 40), ("light", 200)):  # uniform images: legitimate in a folder run
        write_pngs(root, [np.full((12, 12), level)] * 6, [0] * 6, [label])
        for i, path in enumerate(sorted((root / label).glob("*.png"))):
            path.rename(root / label / f"{label}{i}.png")
    out = tmp_path / "run"
    assert run(capsys, "train", "softmax", "--images", str(root), "--image-size", "12", "--epochs", "3",
               "--device", "cpu", "--out", str(out), "--quiet", "--no-plots")[0] == 0
    code, stdout, _ = run(capsys, "predict", str(out), str(root / "light" / "light0.png"))
    assert code == 0 and "holds no object" not in stdout and stdout.split(": ")[1].split()[0] in ("dark", "light")
