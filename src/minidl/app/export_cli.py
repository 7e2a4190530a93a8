"""The ``minidl export`` command: its flags and what it does (no torch until it runs, so that
``minidl --help`` answers at once); the work is minidl.app.export's."""
from __future__ import annotations

from minidl.app.export_formats import FORMATS


def add_export_parser(sub) -> None:
    """Add ``export`` to the ``minidl`` subcommands ``sub``."""
    x = sub.add_parser("export", help="write a run's model, preprocessing and class names as ONNX or TorchScript",
                       description="Write the trained model of RUN as one file that onnxruntime (--format onnx) "
                       "or torch.jit.load (--format torchscript) runs: the pixel scaling or a CSV run's "
                       "standardisation inside, the class names and inputs in its metadata (key 'minidl'). "
                       "--format onnx needs the extra 'onnx'. See docs/other-tools.md.")
    x.add_argument("run", metavar="RUN_OR_CHECKPOINT", help="a run folder or a .pt file")
    x.add_argument("--format", required=True, metavar="FORMAT", help=f"{' or '.join(FORMATS)}")
    x.add_argument("--out", required=True, metavar="FILE", help="the file to write (e.g. model.onnx)")
    x.add_argument("--best", action="store_true", help="export the run's best.pt instead of its last checkpoint")
    x.set_defaults(func=cmd_export)


def cmd_export(args) -> int:
    from minidl.app.export import export_run

    path = export_run(args.run, args.format, args.out, best=args.best)
    print(f"wrote {path} ({args.format})")
    return 0
