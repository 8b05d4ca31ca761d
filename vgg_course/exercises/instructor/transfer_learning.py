"""Instructor-only: solution functions and hidden cases of ``04_transfer_learning.ipynb``'s exercises."""

from __future__ import annotations

from torch import nn

from vgg_course.exercises import zoo
from vgg_course.exercises.observed import class_name, param_table
from vgg_course.exercises.pictures import case_weights, run_transform
from vgg_course.exercises.parts import Hidden, Part
from vgg_course.i18n import N_

MISTAKES = {
    "q1": {
        "resnet_trainable": {2560: N_("the new layer has biases too"),
                             20485: N_("ResNet-18's head sees 512 features, not VGG's 4096")},
        "vgg_total": {138_357_544: (N_("the old 1000-class head is gone: its parameters no "
                                    "longer count")),
                      134_268_738: N_("that is the total for 2 classes"),
                      40_970: N_("that is the trainable part; the question is the total")},
    },
}

# transfer_learning.q1
def predictions() -> dict[str, object]:
    """transfer_learning.q1: the prediction cell (its body); the check grades `predictions`."""
    # Predict, then run the check; run the verify cell only after that.
    ### BEGIN SOLUTION
    resnet_trainable = 512 * 5 + 5                    # new fc: weights + biases
    vgg_total = 138_357_544 - (4096 * 1000 + 1000) + (4096 * 10 + 10)
    ### END SOLUTION
    predictions = {"resnet_trainable": resnet_trainable, "vgg_total": vgg_total}
    return predictions


# transfer_learning.q2
def transfer_model(model: nn.Module, num_classes: int) -> nn.Module:
    """Freeze everything, then a new trainable classifier[6] for num_classes."""
    ### BEGIN SOLUTION
    for weight_or_bias in model.parameters():  # freeze first ...
        weight_or_bias.requires_grad = False
    width = model.classifier[6].in_features    # ... then the new head (trainable)
    model.classifier[6] = nn.Linear(width, num_classes)
    return model
    ### END SOLUTION


# transfer_learning.q3
def eval_preprocess(weights, image_size: int):
    """Resize and crop to image_size; normalise with the weights' own mean and std."""
    from torchvision import transforms
    ### BEGIN SOLUTION
    trained_with = weights.transforms()  # the weights' own preprocessing
    return transforms.Compose([
        transforms.Resize(image_size),
        transforms.CenterCrop(image_size),
        transforms.ToTensor(),
        transforms.Normalize(mean=trained_with.mean, std=trained_with.std),
    ])
    ### END SOLUTION


def expect_q2(case: dict) -> dict:
    """The model before the answer: every parameter, the head's width, the other modules."""
    model = zoo.reference(case["model"])
    return {"before": param_table(model), "in_features": model.classifier[6].in_features,
            "modules": [[n, class_name(m)] for n, m in model.named_modules()
                        if n != "classifier.6" and not n.startswith("classifier.6.")]}


def expect_q3(case: dict) -> dict:
    """What the reference preprocessing gives for the case's picture."""
    transform = eval_preprocess(case_weights(case["weights"]), case["image_size"])
    got = run_transform(transform, case)
    return {k: got[k] for k in ("flat", "pooled")}


def _q2_hidden(rng) -> list[dict]:
    spec = {"arch": "tiny_vgg_bn", "width": rng.choice([1, 2]), "hidden": rng.choice([7, 9]),
            "num_classes": 1000, "seed": rng.randrange(1000)}
    return [{"part": "hidden: a VGG with BatchNorm", "aspect": aspect, "label": zoo.describe(spec),
             "model": spec, "num_classes": rng.choice([4, 5])}
            for aspect in ("trains", "fits", "kept")]


def _q3_hidden(rng) -> list[dict]:
    cases = []
    for name, shape in (("ResNet18_Weights.IMAGENET1K_V1", [150, 97]),
                        ("Swin_T_Weights.IMAGENET1K_V1", [61, 130])):
        cases.append({"part": "hidden: other weights", "label": name,
                      "image_size": rng.choice([40, 56]), "rng": rng.randrange(10_000),
                      "weights": {"kind": "torchvision", "name": name},
                      "image": [rng.randrange(10_000), *shape]})
    return cases


HIDDEN = {
    "q2": Hidden((Part("hidden: a VGG with BatchNorm", hidden=True),), _q2_hidden),
    "q3": Hidden((Part("hidden: other weights", hidden=True),), _q3_hidden),
}
