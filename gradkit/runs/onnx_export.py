"""A trained run's whole prediction as an ONNX model, built with the ``onnx`` package's
helper API: raw float32 features ``[N, n_features]`` (training column order) ->
standardisation -> the model's layers -> ``probabilities`` ``[N, classes]`` (classifiers,
classes in label order) or ``prediction`` ``[N, targets]`` (regression).

Every built-in model is a stack of Linear layers with ReLU between them (the twins share
their forward), so one graph builder serves them all.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .._version import __version__
from ..errors import UserError
from .loaded import LoadedRun

__all__ = ["OPSET", "IR_VERSION", "build_onnx", "import_onnx", "input_name", "output_name"]

#: ONNX opset and IR version: old enough for every onnxruntime since 1.13
OPSET = 17
IR_VERSION = 8

#: model family -> its layers in order: (Linear attribute, activation after it)
LAYERS = {
    "logreg": [("linear", None)],
    "mlp": [("fc1", "Relu"), ("fc2", None)],
}

input_name = "features"


def output_name(task: str) -> str:
    """``probabilities`` for classifiers, ``prediction`` for regression."""
    return "prediction" if task == "regression" else "probabilities"


def import_onnx() -> Any:
    """The ``onnx`` package, or a ``UserError`` saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise UserError(
            "gradkit export format=onnx needs the onnx package, which is not installed: "
            "pip install 'gradkit[export]'"
        ) from None
    return onnx


def build_onnx(run: LoadedRun) -> Any:
    """The ONNX ``ModelProto`` of ``run``'s prediction, checked by ``onnx.checker``."""
    onnx = import_onnx()
    from onnx import TensorProto, helper, numpy_helper

    card, model = run.card, run.model
    state = {k: np.asarray(v.numpy(), dtype=np.float32) for k, v in model.state_dict().items()}
    inits: list[Any] = []
    nodes: list[Any] = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value, np.float32), name))
        return name

    cur = input_name
    if card.mean is not None:
        mean = const("mean", np.asarray(card.mean, np.float32))
        std = const("std", np.asarray(card.std, np.float32))
        nodes.append(helper.make_node("Sub", [cur, mean], ["centred"], name="centre"))
        nodes.append(helper.make_node("Div", ["centred", std], ["standardized"], name="scale"))
        cur = "standardized"
    for layer, act in LAYERS[type(model).family]:
        ins = [cur, const(f"{layer}.weight", state[f"{layer}.weight"])]
        if f"{layer}.bias" in state:
            ins.append(const(f"{layer}.bias", state[f"{layer}.bias"]))
        nodes.append(helper.make_node("Gemm", ins, [f"{layer}.out"], name=layer, transB=1))
        cur = f"{layer}.out"
        if act:
            nodes.append(helper.make_node(act, [cur], [f"{layer}.act"], name=f"{layer}.{act}"))
            cur = f"{layer}.act"
    out = output_name(card.task)
    if card.task == "regression":
        nodes.append(helper.make_node("Identity", [cur], [out], name="prediction"))
        width = int(state[f"{LAYERS[type(model).family][-1][0]}.weight"].shape[0])
    elif card.task == "binary":  # one logit z: [1 - sigmoid(z), sigmoid(z)]
        one = const("one", np.ones((1, 1), np.float32))
        nodes.append(helper.make_node("Sigmoid", [cur], ["p1"], name="sigmoid"))
        nodes.append(helper.make_node("Sub", [one, "p1"], ["p0"], name="complement"))
        nodes.append(helper.make_node("Concat", ["p0", "p1"], [out], name="probs", axis=1))
        width = 2
    else:
        nodes.append(helper.make_node("Softmax", [cur], [out], name="softmax", axis=1))
        width = len(card.classes)
    graph = helper.make_graph(
        nodes,
        f"gradkit_{card.model}",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["N", len(card.features)])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["N", width])],
        initializer=inits,
    )
    proto = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="gradkit",
        producer_version=__version__,
        doc_string=(
            f"{card.model} ({card.task}) trained on {card.data}: raw features in the order "
            f"of metadata 'features' -> {out}"
        ),
    )
    proto.ir_version = IR_VERSION
    helper.set_model_props(
        proto,
        {
            "features": json.dumps(card.features),
            "classes": json.dumps(card.classes),
            "task": card.task,
            "run": str(run.path),
        },
    )
    onnx.checker.check_model(proto, full_check=True)
    return proto
