"""docs/other-tools.md: every `minidl` command it shows is one the command line accepts, and the
screenshot it shows is there."""
import shlex
from pathlib import Path

import pytest

from minidl.app.cli import build_parser

DOC = Path(__file__).resolve().parents[1] / "docs" / "other-tools.md"


def doc_commands() -> list[str]:
    lines = [line.split("  #", 1)[0].strip() for line in DOC.read_text().splitlines()]
    return [line for line in lines if line.startswith("minidl ")]


def test_the_page_shows_the_three_commands():
    words = {line.split()[1] for line in doc_commands()}
    assert {"train", "export"} <= words and any("--tensorboard" in c for c in doc_commands())
    assert any("--mlflow" in c for c in doc_commands())


@pytest.mark.parametrize("command", doc_commands())
def test_every_command_on_the_page_parses(command):
    build_parser().parse_args(shlex.split(command)[1:])  # argparse exits 2 on an unknown flag or a bad value


def test_the_screenshot_is_a_png():
    assert (DOC.parent / "tensorboard.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
