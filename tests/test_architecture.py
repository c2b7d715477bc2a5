import pytest
import torch

from backend.presets import PRESETS
from backend.schemas import LayersSpec, MLPSpec
from backend.training.architecture import SpecError, build_model, count_parameters

MNIST = ((784,), 10)


def _preset_model(key: str, index: int):  # noqa: ANN202
    return PRESETS[key].runs[index].model


@pytest.mark.parametrize(
    ("key", "index", "expected"),
    [
        ("activation", 0, 25_450),  # 784-32-10
        ("activation", 3, 26_506),  # 784-32-32-10
        ("batchnorm", 1, 26_634),  # with BatchNorm
        ("conv", 1, 4_274),  # the conv net
        ("under-20k", 0, 9_098),  # the under-20k model
    ],
)
def test_notebook_parameter_counts(key: str, index: int, expected: int) -> None:
    model = build_model(_preset_model(key, index), *MNIST)
    assert count_parameters(model) == expected
    assert model(torch.zeros(3, 784)).shape == (3, 10)


def test_under_20k_model_is_under_20k() -> None:
    assert count_parameters(build_model(_preset_model("under-20k", 0), *MNIST)) <= 20_000


def test_batchnorm_sits_between_linear_and_activation() -> None:
    model = build_model(MLPSpec(kind="mlp", hidden=[32], batchnorm=True), *MNIST)
    assert [type(m).__name__ for m in model] == ["Linear", "BatchNorm1d", "ReLU", "Linear"]


def test_conv_without_reshape_names_the_layer() -> None:
    spec = LayersSpec.model_validate(
        {"kind": "layers", "layers": [{"type": "conv2d", "out_channels": 4, "kernel_size": 3},
                                      {"type": "flatten"}, {"type": "linear"}]})
    with pytest.raises(SpecError) as err:
        build_model(spec, *MNIST)
    assert err.value.loc == ("model", "layers", 0)
    assert "reshape" in err.value.msg


def test_model_must_end_in_class_scores() -> None:
    spec = LayersSpec.model_validate(
        {"kind": "layers", "layers": [{"type": "linear", "out_features": 7}]})
    with pytest.raises(SpecError, match="10 classes"):
        build_model(spec, *MNIST)


def test_kernel_larger_than_image_is_refused() -> None:
    spec = LayersSpec.model_validate({"kind": "layers", "layers": [
        {"type": "reshape", "shape": [1, 28, 28]},
        {"type": "conv2d", "out_channels": 4, "kernel_size": 29},
        {"type": "flatten"}, {"type": "linear"}]})
    with pytest.raises(SpecError) as err:
        build_model(spec, *MNIST)
    assert err.value.loc == ("model", "layers", 1)
