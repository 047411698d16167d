"""Exact parameter count and multiply-accumulate count of an ONNX graph at one input size.

Convention (docs/model-container.md): parameters = sum of the element counts of the graph's
initializers (Constant nodes are not counted), as PyTorch's `parameters()` counts them, so a
model measures the same whichever format it comes in: BatchNormalization running mean and
variance (its inputs 3 and 4) are statistics, not parameters, and are left out (TorchScript and
torch.export leave out buffers too); initializers the PyTorch exporter merged because their
values were equal and re-created with an `Identity` node count once per copy. MACs count only Conv, ConvTranspose, MatMul
and Gemm, from shapes given by ONNX shape inference with the input fixed to
[1, channels, height, width]; FLOPs = 2 x MACs. Bias additions, activations, normalisation
and resizing are ignored, as in most papers' "GFLOPs" tables.
"""

from __future__ import annotations

import math
from typing import Any

#: BatchNormalization inputs that hold running statistics (mean, variance), not parameters.
BN_STATISTICS_INPUTS = (3, 4)


def parameter_count(model: Any) -> int:
    """Parameters of the graph, counted as PyTorch counts them (see the module docstring)."""
    sizes = {init.name: math.prod(init.dims) for init in model.graph.initializer}
    copies: dict[str, str] = {}  # Identity output -> the initializer it copies
    for node in model.graph.node:
        if node.op_type == "Identity" and node.input and node.output:
            source = copies.get(node.input[0], node.input[0])
            if source in sizes:
                copies[node.output[0]] = source
    statistics: set[str] = set()  # tensors used as BN statistics ...
    other_uses: set[str] = set()  # ... and tensors used in any other way
    for node in model.graph.node:
        if node.op_type == "Identity" and node.output and node.output[0] in copies:
            continue
        for index, name in enumerate(node.input):
            bn_stat = node.op_type == "BatchNormalization" and index in BN_STATISTICS_INPUTS
            (statistics if bn_stat else other_uses).add(name)
    statistics -= other_uses
    tensors = {**{name: name for name in sizes}, **copies}
    return sum(sizes[source] for name, source in tensors.items() if name not in statistics)


def _shape_map(model: Any) -> dict[str, list[int | None]]:
    shapes: dict[str, list[int | None]] = {}
    for init in model.graph.initializer:
        shapes[init.name] = list(init.dims)
    graph = model.graph
    for info in list(graph.input) + list(graph.value_info) + list(graph.output):
        tensor = info.type.tensor_type
        if not tensor.HasField("shape"):
            continue
        shapes[info.name] = [
            d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim
        ]
    return shapes


def fix_input_shape(model: Any, input_name: str, shape: list[int]) -> None:
    """Pin the image input to concrete dims so shape inference can reach every layer."""
    for info in model.graph.input:
        if info.name == input_name:
            dims = info.type.tensor_type.shape.dim
            while len(dims) < len(shape):
                dims.add()
            for dim, value in zip(dims, shape, strict=False):
                dim.Clear()
                dim.dim_value = value


def count_macs(model: Any, input_name: str, input_shape: list[int]) -> tuple[int | None, str]:
    """(MACs, note). MACs is None when some counted layer's shape stays unknown."""
    import onnx

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    fix_input_shape(copy, input_name, input_shape)
    try:
        inferred = onnx.shape_inference.infer_shapes(copy, data_prop=True)
    except Exception as exc:  # noqa: BLE001 - inference errors are model errors
        return None, f"shape inference failed: {exc}"
    shapes = _shape_map(inferred)
    total = 0
    for node in inferred.graph.node:
        if node.op_type not in ("Conv", "ConvTranspose", "MatMul", "Gemm"):
            continue
        ins = [shapes.get(name) for name in node.input]
        out = shapes.get(node.output[0]) if node.output else None
        macs = _node_macs(node, ins, out)
        if macs is None:
            return None, f"unknown shape at {node.op_type} node {node.name or node.output[0]!r}"
        total += macs
    return total, "ok"


def _known(shape: list[int | None] | None) -> bool:
    return shape is not None and all(isinstance(d, int) and d > 0 for d in shape)


def _node_macs(node: Any, ins: list, out: list | None) -> int | None:
    op = node.op_type
    if op == "Conv":
        weight = ins[1] if len(ins) > 1 else None
        if not (_known(weight) and _known(out)):
            return None
        return math.prod(out) * math.prod(weight[1:])
    if op == "ConvTranspose":
        data, weight = ins[0], ins[1] if len(ins) > 1 else None
        if not (_known(data) and _known(weight)):
            return None
        return math.prod(data) * math.prod(weight[1:])
    if op == "MatMul":
        a = ins[0]
        if not (_known(a) and _known(out)) or len(a) < 1:
            return None
        return math.prod(out) * a[-1]
    # Gemm: Y[M, N] = A[M, K] x B[K, N]
    a = ins[0]
    if not (_known(a) and _known(out)) or len(a) != 2:
        return None
    trans_a = any(attr.name == "transA" and attr.i for attr in node.attribute)
    k = a[0] if trans_a else a[1]
    return math.prod(out) * k
