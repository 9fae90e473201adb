"""``gradkit export run=DIR [format=onnx] [output=model.onnx]``: a trained run's whole
prediction — standardisation included — as an ONNX model (``pip install
'gradkit[export]'``)."""

from __future__ import annotations

from .keyvalue import output_path, run_command

__all__ = ["main"]

FORMATS = ("onnx",)

OPTIONS = {
    "run": "a gradkit train run folder (outputs/<date>/<time>)",
    "format": "onnx (the only format so far)",
    "output": "the file to write (default: model.onnx in the current folder)",
}

USAGE = """\
usage: gradkit export run=DIR [format=onnx] [output=model.onnx]

Write a trained run's whole prediction as an ONNX model: raw float32 features
[N, n_features] in the training column order, its standardisation, the model, and
'probabilities' [N, classes] (classifiers, classes in label order) or 'prediction'
[N, targets] (regression). Needs the onnx package: pip install 'gradkit[export]'.

options:
{options}

example:
  gradkit export run=outputs/2026-11-22/10-00-00 output=model.onnx
"""


def _export(opts: dict[str, str]) -> int:
    from gradkit.errors import UserError
    from gradkit.runs import load_run
    from gradkit.runs.onnx_export import build_onnx, import_onnx, input_name, output_name
    from gradkit.runtime.files import write_bytes

    fmt = opts.get("format") or "onnx"
    if fmt not in FORMATS:
        raise UserError(
            f"format={fmt} is not a format gradkit exports; choose: {', '.join(FORMATS)}"
        )
    out = output_path(opts.get("output"), "model.onnx")
    import_onnx()  # a missing package fails before the run is read
    run = load_run(opts["run"])
    proto = build_onnx(run)
    write_bytes(out, proto.SerializeToString())
    n = len(run.features)
    width = proto.graph.output[0].type.tensor_type.shape.dim[1].dim_value
    shown = ", ".join(run.features[:4]) + (", ..." if n > 4 else "")
    what = f"classes {', '.join(map(str, run.classes))}" if run.classes else "regression"
    print(
        f"wrote {out}: input '{input_name}' float32 [N, {n}] ({shown}) -> output "
        f"'{output_name(run.task)}' float32 [N, {width}] ({what}); ONNX opset "
        f"{proto.opset_import[0].version}, checked by onnx.checker"
    )
    return 0


def main(args: list[str]) -> int:
    """Run ``gradkit export ARGS``."""
    return run_command("export", USAGE, args, OPTIONS, ("run",), _export)
