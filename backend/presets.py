"""The notebook's comparisons, each a study of runs with its architectures and settings."""

from dataclasses import dataclass
from typing import Any

from backend.schemas import LayersSpec, MLPSpec, ModelSpec, OptimizerSpec, RunCreate

_OPT_TITLES = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "adagrad": "Adagrad",
               "rmsprop": "RMSprop"}


def describe(run: RunCreate) -> str:
    """A label a person can read in a legend, e.g. "3-layer relu, Adam 0.01"."""
    opt = run.optimizer
    opt_text = _OPT_TITLES[opt.name]
    if opt.name == "sgd" and opt.momentum > 0:
        opt_text += f" momentum {opt.momentum:g}"
    opt_text += f" {opt.lr:g}"
    model = run.model
    if isinstance(model, MLPSpec):
        arch = f"{len(model.hidden) + 1}-layer {model.activation}"
        if model.batchnorm:
            arch += " + BatchNorm"
    else:
        kinds = [layer.type for layer in model.layers]
        weighted = sum(k in ("linear", "conv2d") for k in kinds)
        arch = f"{weighted}-layer {'conv' if 'conv2d' in kinds else 'net'}"
    return f"{arch}, {opt_text}"


def _mlp(hidden: list[int], activation: str = "relu", batchnorm: bool = False) -> MLPSpec:
    return MLPSpec(kind="mlp", hidden=hidden, activation=activation, batchnorm=batchnorm)  # type: ignore[arg-type]


def _layers(*layers: dict[str, Any]) -> LayersSpec:
    return LayersSpec.model_validate({"kind": "layers", "layers": list(layers)})


def _run(name: str, model: ModelSpec, opt: str, lr: float, momentum: float = 0.0,
         epochs: int = 10) -> RunCreate:
    return RunCreate(name=name, model=model, epochs=epochs,
                     optimizer=OptimizerSpec(name=opt, lr=lr, momentum=momentum))  # type: ignore[arg-type]


IMAGE = {"type": "reshape", "shape": [1, 28, 28]}

# Conv(1->8,k7,s2) relu Conv(8->8,k7,s2) relu Linear(72->10): 4,274 parameters.
CONV_NET = _layers(
    IMAGE,
    {"type": "conv2d", "out_channels": 8, "kernel_size": 7, "stride": 2},
    {"type": "relu"},
    {"type": "conv2d", "out_channels": 8, "kernel_size": 7, "stride": 2},
    {"type": "relu"},
    {"type": "flatten"},
    {"type": "linear"},
)

# The notebook's under-20k model, 9,098 parameters, kept faithfully, including its
# doubled relu and the stray softmax over channels before the classifier.
UNDER_20K = _layers(
    IMAGE,
    {"type": "conv2d", "out_channels": 8, "kernel_size": 7, "stride": 2},
    {"type": "relu"},
    {"type": "relu"},
    {"type": "conv2d", "out_channels": 16, "kernel_size": 7, "stride": 1},
    {"type": "relu"},
    {"type": "maxpool2d", "kernel_size": 2},
    {"type": "softmax", "dim": 1},
    {"type": "flatten"},
    {"type": "linear", "out_features": 32},
    {"type": "linear"},
)


@dataclass(frozen=True)
class Preset:
    key: str
    title: str
    description: str
    runs: tuple[RunCreate, ...]

    @property
    def epochs(self) -> int:
        return max(r.epochs for r in self.runs)


PRESETS: dict[str, Preset] = {
    p.key: p
    for p in (
        Preset(
            "activation",
            "Activation: sigmoid vs relu",
            "2- and 3-layer MLPs (32 hidden units) with sigmoid or relu, SGD lr 0.01. "
            "Deep sigmoid nets learn slowly: their gradients vanish.",
            (
                _run("2-layer sigmoid, SGD 0.01", _mlp([32], "sigmoid"), "sgd", 0.01),
                _run("2-layer relu, SGD 0.01", _mlp([32], "relu"), "sgd", 0.01),
                _run("3-layer sigmoid, SGD 0.01", _mlp([32, 32], "sigmoid"), "sgd", 0.01),
                _run("3-layer relu, SGD 0.01", _mlp([32, 32], "relu"), "sgd", 0.01),
            ),
        ),
        Preset(
            "optimizer",
            "Optimizer: SGD vs momentum vs Adam",
            "The 3-layer relu MLP with plain SGD, SGD with momentum 0.99, and Adam.",
            (
                _run("3-layer relu, SGD 0.01", _mlp([32, 32]), "sgd", 0.01),
                _run("3-layer relu, SGD momentum 0.99 0.01", _mlp([32, 32]), "sgd", 0.01, 0.99),
                _run("3-layer relu, Adam 0.01", _mlp([32, 32]), "adam", 0.01),
            ),
        ),
        Preset(
            "batchnorm",
            "Regularization: BatchNorm",
            "The Adam 3-layer MLP with and without BatchNorm after each hidden layer.",
            (
                _run("3-layer relu, Adam 0.01", _mlp([32, 32]), "adam", 0.01),
                _run("3-layer relu + BatchNorm, Adam 0.01", _mlp([32, 32], batchnorm=True),
                     "adam", 0.01),
            ),
        ),
        Preset(
            "conv",
            "Fully connected vs convolution",
            "The 3-layer MLP (26,506 parameters) against a two-layer conv net (4,274).",
            (
                _run("3-layer relu MLP, Adam 0.01", _mlp([32, 32]), "adam", 0.01),
                _run("Conv net, Adam 0.01", CONV_NET, "adam", 0.01),
            ),
        ),
        Preset(
            "under-20k",
            "A model under 20,000 parameters",
            "The notebook's 9,098-parameter conv net, Adam lr 3e-4, 25 epochs.",
            (_run("Under-20k conv, Adam 0.0003", UNDER_20K, "adam", 3e-4, epochs=25),),
        ),
    )
}
