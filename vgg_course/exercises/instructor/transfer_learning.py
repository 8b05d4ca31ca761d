"""Instructor-only: solutions and hidden cases of ``04_transfer_learning.ipynb``'s exercises."""

from __future__ import annotations

from vgg_course.exercises import zoo
from vgg_course.exercises.parts import Hidden, Part

SOLUTIONS = {
    "q1": ("# Predict, then run the check; run the verify cell only after that.\n"
           "### BEGIN SOLUTION\n"
           "resnet_trainable = 512 * 5 + 5                    # new fc: weights + biases\n"
           "vgg_total = 138_357_544 - (4096 * 1000 + 1000) + (4096 * 10 + 10)\n"
           "### END SOLUTION\n"
           'predictions = {"resnet_trainable": resnet_trainable, "vgg_total": vgg_total}'),
    "q2": ("def transfer_model(model: nn.Module, num_classes: int) -> nn.Module:\n"
           '    """Freeze everything, then a new trainable classifier[6] for num_classes."""\n'
           "    ### BEGIN SOLUTION\n"
           "    for weight_or_bias in model.parameters():  # freeze first ...\n"
           "        weight_or_bias.requires_grad = False\n"
           "    width = model.classifier[6].in_features    # ... then the new head (trainable)\n"
           "    model.classifier[6] = nn.Linear(width, num_classes)\n"
           "    return model\n"
           "    ### END SOLUTION"),
    "q3": ("from torchvision import transforms\n\n\n"
           "def eval_preprocess(weights, image_size: int):\n"
           '    """Resize and crop to image_size; normalise with the weights\' own mean and std."""\n'
           "    ### BEGIN SOLUTION\n"
           "    trained_with = weights.transforms()  # the weights' own preprocessing\n"
           "    return transforms.Compose([\n"
           "        transforms.Resize(image_size),\n"
           "        transforms.CenterCrop(image_size),\n"
           "        transforms.ToTensor(),\n"
           "        transforms.Normalize(mean=trained_with.mean, std=trained_with.std),\n"
           "    ])\n"
           "    ### END SOLUTION"),
}


def _q2_hidden(rng) -> list[dict]:
    spec = {"arch": "tiny_vgg_bn", "width": rng.choice([1, 2]), "hidden": rng.choice([7, 9]),
            "num_classes": 1000, "seed": rng.randrange(1000)}
    return [{"part": "hidden: a VGG with BatchNorm", "aspect": aspect, "label": zoo.describe(spec),
             "model": spec, "num_classes": rng.choice([4, 5])}
            for aspect in ("trains", "fits", "kept")]


def _q3_hidden(rng) -> list[dict]:
    return [{"part": "hidden: other weights", "label": name, "image_size": rng.choice([40, 72]),
             "weights": {"kind": "torchvision", "name": name},
             "image": [rng.randrange(10_000), 70, 50]}
            for name in ("ResNet18_Weights.IMAGENET1K_V1", "Swin_T_Weights.IMAGENET1K_V1")]


HIDDEN = {
    "q2": Hidden((Part("hidden: a VGG with BatchNorm", hidden=True),), _q2_hidden),
    "q3": Hidden((Part("hidden: other weights", hidden=True),), _q3_hidden),
}
