"""Instructor-only: solutions and hidden cases of ``03_freezing.ipynb``'s exercises."""

from __future__ import annotations

from vgg_course.exercises.parts import Hidden, Part

SOLUTIONS = {
    "q1": ("def freeze_features(model: nn.Module) -> None:\n"
           '    """Freeze every parameter of model.features; leave the rest alone."""\n'
           "    ### BEGIN SOLUTION\n"
           "    for conv_param in model.features.parameters():\n"
           "        conv_param.requires_grad = False\n"
           "    ### END SOLUTION"),
    "q2": ("def count_trainable(model: nn.Module) -> int:\n"
           '    """How many numbers the optimizer may change: parameters with requires_grad."""\n'
           "    ### BEGIN SOLUTION\n"
           "    return sum(param.numel() for param in model.parameters() if param.requires_grad)\n"
           "    ### END SOLUTION"),
    "q3": ("# Predict, then run the check; run the verify cell only after that.\n"
           "### BEGIN SOLUTION\n"
           "conv5 = 3 * (16 * 16 * 9 + 16)          # three 16 -> 16 convs stay trainable\n"
           "fc = (16 * 7 * 7 * 16 + 16) + (16 * 16 + 16) + (16 * 5 + 5)\n"
           "trainable = conv5 + fc\n"
           "first_conv_grad = \"None\"             # frozen: autograd never computes it\n"
           "tensors_with_grad = 3 * 2 + 3 * 2      # weight and bias of 3 convs and 3 Linears\n"
           "### END SOLUTION\n"
           'predictions = {"trainable": trainable, "first_conv_grad": first_conv_grad,\n'
           '               "tensors_with_grad": tensors_with_grad}'),
}


def _q1_hidden(rng) -> list[dict]:
    return [{"part": "hidden: MobileNet and EfficientNet", "label": label,
             "model": {"arch": arch, "num_classes": rng.randint(2, 9)}}
            for arch, label in (("mobilenet_v3_small", "MobileNetV3-Small"),
                                ("efficientnet_b0", "EfficientNet-B0"))]


def _q2_hidden(rng) -> list[dict]:
    width = rng.choice([1, 2, 3])
    return [{"part": "hidden: shared weights", "label": "a model whose two convs share a weight",
             "model": {"arch": "tiny_vgg", "width": width, "hidden": 8, "num_classes": 2,
                       "tie": ["features.26", "features.28"]}},
            {"part": "hidden: shared weights", "label": "MobileNetV3-Small, partly frozen",
             "model": {"arch": "mobilenet_v3_small", "num_classes": 3, "frozen": ["features"]}}]


HIDDEN = {
    "q1": Hidden((Part("hidden: MobileNet and EfficientNet", hidden=True),), _q1_hidden),
    "q2": Hidden((Part("hidden: shared weights", hidden=True),), _q2_hidden),
}
