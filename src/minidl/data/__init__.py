"""The data readers: file formats (IDX, CSV, images), downloads and caches, the in-memory loader.

Each module reads one kind of file into arrays and tensors; none of them knows a run's config
(the data sources in ``minidl.sources`` turn a config into loaders).
"""
