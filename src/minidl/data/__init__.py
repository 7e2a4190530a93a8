"""minidl's data layer: IDX files and sets (Fashion-MNIST, MNIST, KMNIST), image folders, tables, the loader."""
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
from minidl.data.idx_sets import DATASETS, download_set, read_set
from minidl.data.image_folder import load_image_folder
from minidl.data.loader import Loader
from minidl.data.synthetic import TRUE_B, TRUE_W, synthetic_data
from minidl.data.tables import Encoder, Standardizer, Table, load_table, read_rows

__all__ = [
    "FILES", "LABELS", "MD5", "MIRRORS", "cache_dir", "dataset_info", "default_root",
    "download_fashion_mnist", "find_files", "format_info", "load_fashion_mnist",
    "read_idx", "write_idx", "DATASETS", "download_set", "read_set", "load_image_folder",
    "Loader", "TRUE_B", "TRUE_W", "synthetic_data",
    "Encoder", "Standardizer", "Table", "load_table", "read_rows",
]
