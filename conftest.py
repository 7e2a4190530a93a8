"""Collection rules for the whole suite (src/ doctests and tests/)."""
import importlib.util

# minidl.sklearn imports scikit-learn, an optional dependency (the dev extra): without it, its
# doctests are left out, as tests/test_sklearn.py skips itself
collect_ignore = [] if importlib.util.find_spec("sklearn") else ["src/minidl/sklearn"]
