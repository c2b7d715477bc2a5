"""From a model spec to an ``nn.Sequential``, with shapes checked before anything runs."""

import math

import torch
from torch import nn

from backend.schemas import (
    Act,
    BatchNorm,
    Conv2d,
    Dropout,
    Flatten,
    Layer,
    LayersSpec,
    LeakyRelu,
    Linear,
    MaxPool2d,
    MLPSpec,
    ModelSpec,
    Reshape,
    Softmax,
)

Shape = tuple[int, ...]


class SpecError(ValueError):
    """A spec that validates field by field but does not fit together."""

    def __init__(self, loc: tuple[str | int, ...], msg: str) -> None:
        super().__init__(msg)
        self.loc = loc
        self.msg = msg


def expand(spec: ModelSpec) -> list[Layer]:
    """The spec as an explicit list of layers (the compact MLP form unrolled)."""
    if isinstance(spec, LayersSpec):
        return list(spec.layers)
    assert isinstance(spec, MLPSpec)
    # Every dataset arrives flattened, so the MLP needs no flatten layer of its own.
    layers: list[Layer] = []
    for width in spec.hidden:
        layers.append(Linear(type="linear", out_features=width))
        # The notebook normalises before the activation: Linear -> BN -> act.
        if spec.batchnorm:
            layers.append(BatchNorm(type="batchnorm"))
        layers.append(_activation(spec.activation))
        if spec.dropout > 0:
            layers.append(Dropout(type="dropout", p=spec.dropout))
    layers.append(Linear(type="linear", out_features=None))
    return layers


def _activation(name: str) -> Layer:
    if name == "leaky_relu":
        return LeakyRelu(type="leaky_relu")
    return Act(type=name)  # type: ignore[arg-type]


def _conv_out(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def _build_layer(layer: Layer, shape: Shape, num_classes: int) -> tuple[nn.Module, Shape]:
    """One torch module and the shape it produces; ValueError when it cannot take ``shape``."""
    if isinstance(layer, Linear):
        if len(shape) != 1:
            raise ValueError(f"linear needs a flat input but gets shape {list(shape)}; "
                             "add a flatten layer first")
        out = layer.out_features or num_classes
        return nn.Linear(shape[0], out), (out,)
    if isinstance(layer, Conv2d):
        if len(shape) != 3:
            raise ValueError(f"conv2d needs a (channels, height, width) input but gets "
                             f"shape {list(shape)}; add a reshape layer first")
        c, h, w = shape
        oh = _conv_out(h, layer.kernel_size, layer.stride, layer.padding)
        ow = _conv_out(w, layer.kernel_size, layer.stride, layer.padding)
        if oh < 1 or ow < 1:
            raise ValueError(f"kernel {layer.kernel_size} does not fit input {h}x{w}")
        conv = nn.Conv2d(c, layer.out_channels, layer.kernel_size, layer.stride, layer.padding)
        return conv, (layer.out_channels, oh, ow)
    if isinstance(layer, MaxPool2d):
        if len(shape) != 3:
            raise ValueError(f"maxpool2d needs a (channels, height, width) input "
                             f"but gets shape {list(shape)}")
        stride = layer.stride or layer.kernel_size
        c, h, w = shape
        oh = _conv_out(h, layer.kernel_size, stride, 0)
        ow = _conv_out(w, layer.kernel_size, stride, 0)
        if oh < 1 or ow < 1:
            raise ValueError(f"pool of {layer.kernel_size} does not fit input {h}x{w}")
        return nn.MaxPool2d(layer.kernel_size, stride), (c, oh, ow)
    if isinstance(layer, BatchNorm):
        if len(shape) == 1:
            return nn.BatchNorm1d(shape[0]), shape
        if len(shape) == 3:
            return nn.BatchNorm2d(shape[0]), shape
        raise ValueError(f"batchnorm needs a flat or image input but gets shape {list(shape)}")
    if isinstance(layer, Reshape):
        target = tuple(layer.shape)
        if math.prod(target) != math.prod(shape):
            raise ValueError(f"cannot reshape {list(shape)} ({math.prod(shape)} values) "
                             f"to {list(target)} ({math.prod(target)} values)")
        return nn.Unflatten(1, target) if len(shape) == 1 else nn.Sequential(
            nn.Flatten(), nn.Unflatten(1, target)), target
    if isinstance(layer, Flatten):
        return nn.Flatten(), (math.prod(shape),)
    if isinstance(layer, Dropout):
        return nn.Dropout(layer.p), shape
    if isinstance(layer, LeakyRelu):
        return nn.LeakyReLU(layer.negative_slope), shape
    if isinstance(layer, Softmax):
        if layer.dim > len(shape):
            raise ValueError(f"softmax dim {layer.dim} does not exist for shape {list(shape)}")
        return nn.Softmax(dim=layer.dim), shape
    if isinstance(layer, Act):
        return {"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}[
            layer.type
        ](), shape
    raise ValueError(f"unknown layer {layer!r}")


def build_model(spec: ModelSpec, input_shape: Shape, num_classes: int) -> nn.Sequential:
    """The network for ``spec``; raises SpecError naming the layer that does not fit."""
    layers = expand(spec)
    modules: list[nn.Module] = []
    shape = input_shape
    for i, layer in enumerate(layers):
        try:
            module, shape = _build_layer(layer, shape, num_classes)
        except ValueError as exc:
            loc: tuple[str | int, ...] = (
                ("model", "layers", i) if isinstance(spec, LayersSpec) else ("model",)
            )
            raise SpecError(loc, str(exc)) from None
        modules.append(module)
    if shape != (num_classes,):
        raise SpecError(("model",), f"the model outputs shape {list(shape)} but the dataset "
                        f"has {num_classes} classes; end with a linear layer")
    return nn.Sequential(*modules)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def parameter_count(spec: ModelSpec, input_shape: Shape, num_classes: int) -> int:
    """Count without allocating: the model is built on the meta device."""
    with torch.device("meta"):
        return count_parameters(build_model(spec, input_shape, num_classes))
