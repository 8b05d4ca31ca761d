"""Instructor-only: solutions and hidden cases of ``07_other_networks.ipynb``'s exercises."""

from __future__ import annotations

from vgg_course.exercises import zoo
from vgg_course.exercises.parts import Hidden, Part

SOLUTIONS = {
    "q1": ("def head_path(model: nn.Module) -> str:\n"
           '    """The path of the last Linear or Conv2d: the layer that makes class scores."""\n'
           "    ### BEGIN SOLUTION\n"
           "    scoring = [path for path, layer in model.named_modules()\n"
           "               if isinstance(layer, (nn.Linear, nn.Conv2d))]\n"
           "    return scoring[-1]\n"
           "    ### END SOLUTION"),
    "q2": ("def resnet_partial(model: nn.Module, num_classes: int) -> nn.Module:\n"
           '    """Freeze all, unfreeze layer4, a new trainable fc: partial fine-tuning."""\n'
           "    ### BEGIN SOLUTION\n"
           "    model.requires_grad_(False)\n"
           "    model.layer4.requires_grad_(True)\n"
           "    model.fc = nn.Linear(model.fc.in_features, num_classes)\n"
           "    return model\n"
           "    ### END SOLUTION"),
    "q3": ("def train_step(model, images, labels, optimizer) -> float:\n"
           '    """One step; frozen BatchNorm layers keep their running statistics."""\n'
           "    ### BEGIN SOLUTION\n"
           "    model.train()\n"
           "    for layer in model.modules():\n"
           "        if isinstance(layer, nn.BatchNorm2d) and not any(\n"
           "                p.requires_grad for p in layer.parameters()):\n"
           "            layer.eval()  # frozen: use the stored statistics, do not update them\n"
           "    loss = nn.functional.cross_entropy(model(images), labels)\n"
           "    optimizer.zero_grad()\n"
           "    loss.backward()\n"
           "    optimizer.step()\n"
           "    return loss.item()\n"
           "    ### END SOLUTION"),
    "q4": ("# Predict, then run the check; run the verify cell only after that.\n"
           "### BEGIN SOLUTION\n"
           "squeezenet = 512 * 5 * 1 * 1 + 5   # a 1x1 conv counts like a Linear layer\n"
           "mobilenet = 1024 * 5 + 5\n"
           "### END SOLUTION\n"
           'predictions = {"squeezenet": squeezenet, "mobilenet": mobilenet}'),
}


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
