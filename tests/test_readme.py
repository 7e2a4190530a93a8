"""Every `minidl` command the README shows is one the command line accepts, flag for flag."""
import re
import shlex
from pathlib import Path

import pytest

from minidl.app.cli import build_parser

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_commands() -> list[str]:
    """Return each `minidl ...` line inside the README's code blocks, comments and pipes cut off."""
    blocks = re.findall(r"```[a-z]*\n(.*?)```", README.read_text(), flags=re.DOTALL)
    commands = []
    for block in blocks:
        for line in block.splitlines():
            line = line.split("  #", 1)[0].split(" | head", 1)[0].strip()
            if line.startswith("minidl "):
                commands.append(line)
    return commands


def test_the_readme_shows_commands():
    assert len(readme_commands()) >= 10


@pytest.mark.parametrize("command", readme_commands())
def test_every_readme_command_parses(command):
    words = shlex.split(command)[1:]
    if words[:1] == ["data"] and "|" in words:  # `minidl data info | download | show`: three commands in one line
        alternatives = [w for w in words[1:] if w != "|"]
        for what in alternatives[:3]:
            build_parser().parse_args(["data", what])
        return
    build_parser().parse_args(words)  # argparse exits 2 on an unknown flag or a bad value
