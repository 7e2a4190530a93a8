"""minidl's data layer: IDX files, Fashion-MNIST, synthetic and tabular data, the in-memory loader."""
from minidl.data.fashion_mnist import (
    FILES,
    LABELS,
    MD5,
    MIRRORS,
    cache_dir,
    dataset_info,
    default_root,
    download_fashion_mnist,
    find_files,
    format_info,
    load_fashion_mnist,
)
from minidl.data.idx import read_idx, write_idx
from minidl.data.loader import Loader
from minidl.data.synthetic import TRUE_B, TRUE_W, synthetic_data
from minidl.data.tables import Standardizer, Table, load_table, read_rows

__all__ = [
    "FILES", "LABELS", "MD5", "MIRRORS", "cache_dir", "dataset_info", "default_root",
    "download_fashion_mnist", "find_files", "format_info", "load_fashion_mnist",
    "read_idx", "write_idx", "Loader", "TRUE_B", "TRUE_W", "synthetic_data",
    "Standardizer", "Table", "load_table", "read_rows",
]
