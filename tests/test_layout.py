"""The package's layout holds its rules: rooms by concern, imports only downwards, short modules.

A room is a folder of ``src/minidl`` (``lessons/``, ``data/``, ``sources/``, ...) or a file beside
them; a room stands one floor above the highest room it imports. DEVELOPERS.md draws the floors.
"""
import ast
import functools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "minidl"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_FLOORS, MAX_MODULE_LINES, MAX_FUNCTION_LINES = 9, 300, 50
LESSONS_MAY_IMPORT = {"lessons", "errors"}  # and torch: the lessons never reach the config, data or training


def room(path: Path) -> str:
    """Return the room of a module: its top folder under src/minidl, or its own file name."""
    first = path.relative_to(PACKAGE).parts[0]
    return first.removesuffix(".py")


def imported_rooms(path: Path) -> set[str]:
    """Return the rooms a module imports (absolute ``minidl.`` imports; every import, lazy ones too)."""
    rooms = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = ([node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
                 else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
        for name in names:
            parts = name.split(".")
            if parts[0] == "minidl" and len(parts) > 1:
                rooms.add(parts[1])
            elif parts[0] == "minidl" and isinstance(node, ast.ImportFrom):
                rooms.update(a.name for a in node.names if (PACKAGE / a.name).exists()
                             or (PACKAGE / f"{a.name}.py").exists())
    return rooms - {room(path)}


def room_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in MODULES:
        graph.setdefault(room(path), set()).update(imported_rooms(path))
    return graph


def test_no_module_imports_a_relative_path():
    relative = [str(p.relative_to(PACKAGE)) for p in MODULES
                if any(isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(ast.parse(p.read_text())))]
    assert relative == []  # `from minidl.x import y` everywhere: the rooms an arrow joins are plain to read


def test_rooms_stand_on_at_most_nine_floors_without_a_cycle():
    graph = room_graph()

    @functools.lru_cache(None)
    def floor(name, seen=()):
        assert name not in seen, f"import cycle between rooms: {' -> '.join((*seen, name))}"
        return 1 + max((floor(m, (*seen, name)) for m in graph.get(name, ())), default=0)

    floors = {name: floor(name) for name in graph}
    assert max(floors.values()) <= MAX_FLOORS, floors
    assert floors["lessons"] == floors["data"] == 2  # the lessons and the readers stand on the shared base alone


def test_the_lessons_import_only_torch_and_each_other():
    for path in (PACKAGE / "lessons").glob("*.py"):
        assert imported_rooms(path) <= LESSONS_MAY_IMPORT, path.name


def test_the_readers_know_no_config():
    for path in (PACKAGE / "data").glob("*.py"):
        assert not imported_rooms(path) & {"config", "sources", "training", "app"}, path.name


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_and_functions_are_short(path):
    source = path.read_text()
    assert len(source.splitlines()) <= MAX_MODULE_LINES
    long = [node.name for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert long == []
