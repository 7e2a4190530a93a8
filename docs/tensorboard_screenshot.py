"""Take docs/tensorboard.png: two minidl runs side by side in TensorBoard, in a real (headless) browser.

    python docs/tensorboard_screenshot.py [--data-dir DIR] [--out docs/tensorboard.png]

It trains two small MLPs with ``--tensorboard`` (learning rates 0.5 and 0.1) into a temporary
``runs/`` folder (or uses ``--logdir`` as it is), starts ``tensorboard --logdir`` on 127.0.0.1,
waits until its page answers, and has headless Chromium (the Debian package ``chromium``:
``apt-get install chromium``) save the screenshot, with a fresh profile and no network of its own.
Needs the ``tensorboard`` extra. Everything it started is stopped at the end.
"""
from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train_two_runs(logdir: Path, data_dir: str | None, epochs: int) -> None:
    """Train the two runs the screenshot compares, each with --tensorboard."""
    data = ["--data-dir", data_dir] if data_dir else []
    for lr in ("0.5", "0.1"):
        subprocess.run([sys.executable, "-m", "minidl", "train", "mlp", "--hidden", "64", "--epochs", str(epochs),
                        "--lr", lr, *data, "--tensorboard", "--quiet", "--out", str(logdir / f"mlp-lr{lr}")],
                       check=True)


def wait_for(url: str, seconds: float) -> None:
    """Return once ``url`` answers 200; RuntimeError after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"TensorBoard did not answer at {url} within {seconds:.0f} s")


def screenshot(url: str, out: Path, size: str, wait_ms: int) -> None:
    """Save ``url`` as rendered by headless Chromium to ``out`` (PNG)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium is not installed: apt-get update && apt-get install -y chromium")
    with tempfile.TemporaryDirectory(prefix="minidl-chromium-") as profile:
        subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={size}",
                        f"--virtual-time-budget={wait_ms}", f"--screenshot={out.resolve()}", url],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", help="runs already written with --tensorboard (default: train two now)")
    parser.add_argument("--data-dir", help="the Fashion-MNIST folder for the two runs (default: minidl's)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--out", default=str(Path(__file__).parent / "tensorboard.png"))
    parser.add_argument("--size", default="1400,900", help="the window, WIDTH,HEIGHT pixels")
    parser.add_argument("--page", default="#scalars&tagFilter=^(train_loss|test_loss|test_acc|train_acc)$"
                        "&_smoothingWeight=0", help="the dashboard and its settings, after the URL's #")
    parser.add_argument("--wait-ms", type=int, default=20000, help="virtual time the page gets to draw its charts")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="minidl-tb-") as tmp:
        logdir = Path(args.logdir) if args.logdir else Path(tmp) / "runs"
        if not args.logdir:
            train_two_runs(logdir, args.data_dir, args.epochs)
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir),
                                   "--host", "127.0.0.1", "--port", str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(f"http://127.0.0.1:{port}/data/runs", 90)
            screenshot(f"http://127.0.0.1:{port}/{args.page}", Path(args.out), args.size, args.wait_ms)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
