"""The file formats ``minidl export`` writes, named without torch (the parser offers them, ``export`` writes them)."""

FORMATS = ("onnx", "torchscript")  # what minidl.app.export writes
