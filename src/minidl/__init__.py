"""minidl: the first models of deep learning, from scratch and concise."""
__version__ = "0.1.0"
