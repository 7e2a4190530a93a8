"""Every `minidl` command the README and its pages under docs/ show is one the command line accepts, flag for flag."""
import re
import shlex
from pathlib import Path

import pytest

from minidl.app.cli import build_parser

README = Path(__file__).resolve().parents[1] / "README.md"
PAGES = [README, *sorted((README.parent / "docs").glob("*.md"))]  # the README and the pages it links


def readme_commands() -> list[str]:
    """Return each `minidl ...` line inside the code blocks of the README and its pages, comments and pipes cut off."""
    blocks = [b for page in PAGES for b in re.findall(r"```[a-z]*\n(.*?)```", page.read_text(), flags=re.DOTALL)]
    commands = []
    for block in blocks:
        for line in block.splitlines():
            line = line.split("  #", 1)[0].split(" | head", 1)[0].strip()
            if line.startswith("minidl "):
                commands.append(line)
    return commands


def test_the_readme_shows_commands():
    assert len(readme_commands()) >= 10


def test_the_readme_is_short_and_links_pages_that_exist():
    text = README.read_text()
    assert len(text.splitlines()) <= 250
    for page in re.findall(r"\]\((docs/[^)#]+)\)", text):
        assert (README.parent / page).is_file(), page


@pytest.mark.parametrize("command", readme_commands())
def test_every_readme_command_parses(command):
    words = shlex.split(command)[1:]
    if words[:1] == ["data"] and "|" in words:  # `minidl data info | download | show`: three commands in one line
        alternatives = [w for w in words[1:] if w != "|"]
        for what in alternatives[:3]:
            build_parser().parse_args(["data", what])
        return
    build_parser().parse_args(words)  # argparse exits 2 on an unknown flag or a bad value
