"""Instructor-only: solution functions and hidden cases of ``07_other_networks.ipynb``'s exercises."""

from __future__ import annotations

from torch import nn

from vgg_course.exercises import zoo
from vgg_course.exercises.parts import Hidden, Part

# other_networks.q1
def head_path(model: nn.Module) -> str:
    """The path of the last Linear or Conv2d: the layer that makes class scores."""
    ### BEGIN SOLUTION
    scoring = [path for path, layer in model.named_modules()
               if isinstance(layer, (nn.Linear, nn.Conv2d))]
    return scoring[-1]
    ### END SOLUTION


# other_networks.q2
def resnet_partial(model: nn.Module, num_classes: int) -> nn.Module:
    """Freeze all, unfreeze layer4, a new trainable fc: partial fine-tuning."""
    ### BEGIN SOLUTION
    model.requires_grad_(False)
    model.layer4.requires_grad_(True)
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    return model
    ### END SOLUTION


# other_networks.q3
def train_step(model, images, labels, optimizer) -> float:
    """One step; frozen BatchNorm layers keep their running statistics."""
    ### BEGIN SOLUTION
    model.train()
    for layer in model.modules():
        if isinstance(layer, nn.BatchNorm2d) and not any(
                p.requires_grad for p in layer.parameters()):
            layer.eval()  # frozen: use the stored statistics, do not update them
    loss = nn.functional.cross_entropy(model(images), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
    ### END SOLUTION


# other_networks.q4
def predictions() -> dict[str, object]:
    """other_networks.q4: the prediction cell (its body); the check grades `predictions`."""
    # Predict, then run the check; run the verify cell only after that.
    ### BEGIN SOLUTION
    squeezenet = 512 * 5 * 1 * 1 + 5   # a 1x1 conv counts like a Linear layer
    mobilenet = 1024 * 5 + 5
    ### END SOLUTION
    predictions = {"squeezenet": squeezenet, "mobilenet": mobilenet}
    return predictions


def _q1_hidden(rng) -> list[dict]:
    return [{"part": "hidden: DenseNet and EfficientNet", "label": zoo.describe({"arch": arch}),
             "model": {"arch": arch, "num_classes": rng.randint(2, 9)}}
            for arch in ("densenet121", "efficientnet_b0")]


def _q2_hidden(rng) -> list[dict]:
    spec = {"arch": "resnet", "layers": [2, 1, 1, 2], "num_classes": 1000,
            "seed": rng.randrange(1000)}
    return [{"part": "hidden: a deeper ResNet", "aspect": aspect, "label": zoo.describe(spec),
             "model": spec, "num_classes": 4} for aspect in ("trains", "fits", "kept")]


def _q3_hidden(rng) -> list[dict]:
    spec = {"arch": "resnet", "layers": [1, 1, 1, 1], "num_classes": 3, "seed": rng.randrange(1000),
            "frozen": ["conv1", "bn1", "layer1", "layer2"]}
    return [{"part": "hidden: layer3 trains too", "aspect": aspect, "label": "a ResNet, layer3 on trains",
             "model": spec, "batch": rng.randrange(10_000)} for aspect in ("frozen", "learns", "loss")]


HIDDEN = {
    "q1": Hidden((Part("hidden: DenseNet and EfficientNet", hidden=True),), _q1_hidden),
    "q2": Hidden((Part("hidden: a deeper ResNet", hidden=True),), _q2_hidden),
    "q3": Hidden((Part("hidden: layer3 trains too", hidden=True),), _q3_hidden),
}
