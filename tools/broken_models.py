"""Small ONNX graphs that are wrong on purpose, for the engine's error-handling tests.

Each is a valid ONNX file a careless export could produce: inputs a text model would
not have, outputs that are not float logits, logits that are NaN. They hold no weights
worth mentioning, so they build in milliseconds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def _save(graph: onnx.GraphProto, path: Path) -> None:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))


def _ids_input(name: str = "input_ids") -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])


def _row_sum_graph(name: str, inputs: list[onnx.ValueInfoProto], nodes_after: list[onnx.NodeProto], output: onnx.ValueInfoProto) -> onnx.GraphProto:
    """Reduces the first input to one float per row, then applies `nodes_after` to make the output."""
    axes = numpy_helper.from_array(np.array([1], dtype=np.int64), "axes")
    nodes = [
        helper.make_node("Cast", [inputs[0].name], ["as_float"], to=TensorProto.FLOAT),
        helper.make_node("ReduceSum", ["as_float", "axes"], ["row_sum"], keepdims=1),
        *nodes_after,
    ]
    return helper.make_graph(nodes, name, inputs, [output], initializer=[axes])


def wrong_inputs() -> onnx.GraphProto:
    """An image-style input name: the engine must refuse it before feeding anything."""
    inp = helper.make_tensor_value_info("pixel_values", TensorProto.INT64, ["batch", "sequence"])
    out = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 1])
    return _row_sum_graph("wrong_inputs", [inp], [helper.make_node("Identity", ["row_sum"], ["logits"])], out)


def integer_outputs() -> onnx.GraphProto:
    """Outputs int64 class ids instead of float logits."""
    out = helper.make_tensor_value_info("logits", TensorProto.INT64, ["batch", 1])
    return _row_sum_graph(
        "integer_outputs", [_ids_input()], [helper.make_node("Cast", ["row_sum"], ["logits"], to=TensorProto.INT64)], out
    )


def nan_logits() -> onnx.GraphProto:
    """Every logit is NaN (0/0), as broken weights or an fp16 overflow give."""
    zero = numpy_helper.from_array(np.array([0.0], dtype=np.float32), "zero")
    out = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 1])
    graph = _row_sum_graph(
        "nan_logits",
        [_ids_input()],
        [
            helper.make_node("Mul", ["row_sum", "zero"], ["zeros"]),
            helper.make_node("Div", ["zeros", "zeros"], ["logits"]),
        ],
        out,
    )
    graph.initializer.append(zero)
    return graph


def three_labels() -> onnx.GraphProto:
    """Three logits per pair: a classifier, not a reranker."""
    ones = numpy_helper.from_array(np.ones((1, 3), dtype=np.float32), "ones")
    out = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 3])
    graph = _row_sum_graph(
        "three_labels", [_ids_input()], [helper.make_node("Mul", ["row_sum", "ones"], ["logits"])], out
    )
    graph.initializer.append(ones)
    return graph


BUILDERS = {
    "wrong-inputs": wrong_inputs,
    "integer-outputs": integer_outputs,
    "nan-logits": nan_logits,
    "three-labels": three_labels,
}


def build(out_dir: Path) -> None:
    """Writes `<out_dir>/<name>.onnx` for every broken graph."""
    for name, make in BUILDERS.items():
        _save(make(), out_dir / f"{name}.onnx")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("models/broken"))
    build(parser.parse_args().out)
