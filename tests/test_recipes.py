"""Tests for vc.recipes: the article's recipes by name, with VGG16's exact trainable counts."""

from __future__ import annotations


import copy

import pytest
import torch
import torchvision

from vgg_course import freezing, imagenet, models, recipes

# Trainable parameters on VGG16 (134,268,738 in all with a 2-class head).
VGG16_TRAINABLE = {
    "transfer_learning": 8_194,
    "finetune_new_classifier": 119_554_050,
    "finetune_pretrained_classifier": 119_554_050,
    "finetune_imagenet_rows": 119_554_050,  # the same layers, fc8 started from rows 310, 309
    "partial_finetune": 119_554_050 + 7_079_424,
    "full_finetune": 134_268_738,
    "from_scratch": 134_268_738,
}


tiny_vgg = models.tiny_vgg  # builds in milliseconds


def test_recipe_names_in_order():
    assert list(recipes.RECIPES) == list(VGG16_TRAINABLE)
    assert recipes.describe("transfer_learning").startswith("Freeze everything")


@pytest.mark.slow
def test_vgg16_counts_for_two_classes_in_any_order(real_vgg16):
    # each recipe sets every flag itself, so applying them one after another on the same
    # model must give the same counts as on a fresh model
    order = ["full_finetune", "transfer_learning", "partial_finetune", "finetune_pretrained_classifier",
             "transfer_learning", "finetune_new_classifier", "partial_finetune", "full_finetune"]
    for name in order:
        model = recipes.apply(name, real_vgg16, 2)
        assert model is real_vgg16
        assert freezing.counts(model) == freezing.Counts(
            VGG16_TRAINABLE[name], 134_268_738 - VGG16_TRAINABLE[name]), name
    assert VGG16_TRAINABLE["partial_finetune"] == 126_633_474
    recipes.partial_finetune(real_vgg16, 2)
    assert freezing.frozen_blocks(real_vgg16) == ["conv1", "conv2", "conv3", "conv4"]


@pytest.mark.slow
def test_vgg16_three_classes(real_vgg16):
    assert freezing.trainable_count(recipes.transfer_learning(real_vgg16, 3)) == 12_291
    assert freezing.trainable_count(recipes.finetune_pretrained_classifier(real_vgg16, 3)) == 119_558_147
    assert freezing.counts(real_vgg16).total == 134_272_835


def test_pretrained_variant_keeps_fc6_fc7_new_variant_reinitialises_them():
    model = tiny_vgg(10)
    fc6 = model.classifier[0].weight.clone()
    recipes.finetune_pretrained_classifier(model, 2)
    assert torch.equal(model.classifier[0].weight, fc6)
    recipes.finetune_new_classifier(model, 2)
    assert not torch.equal(model.classifier[0].weight, fc6)
    assert freezing.frozen_blocks(model) == ["conv1", "conv2", "conv3", "conv4", "conv5"]


def test_from_scratch_reinitialises_everything():
    model = tiny_vgg(10)
    before = [p.clone() for p in model.parameters()]
    recipes.transfer_learning(model, 2)
    torch.manual_seed(1)
    recipes.from_scratch(model, 2)
    changed = [not torch.equal(a, b) for a, b in zip(before, model.parameters()) if a.shape == b.shape]
    weights = [name for name, p in model.named_parameters() if name.endswith("weight")]
    assert len(weights) == 16
    assert freezing.counts(model).frozen == 0
    # every weight tensor is new (biases of Linear layers are zero before and after)
    assert sum(changed) >= len(weights) - 1


@pytest.mark.parametrize("name", list(recipes.RECIPES))
def test_every_recipe_trains_tiny_vgg(name):
    rows = (4, 0, 9) if recipes.get(name).imagenet_rows else None  # one row per class
    model = recipes.apply(name, tiny_vgg(10), 3, rows=rows)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(trainable, lr=0.1)
    loss = torch.nn.functional.cross_entropy(model(torch.randn(4, 3, 32, 32)), torch.tensor([0, 1, 2, 0]))
    loss.backward()
    optimizer.step()
    assert model.classifier[6].out_features == 3
    assert all(p.grad is None for p in model.parameters() if not p.requires_grad)


@pytest.mark.parametrize("name, trainable", [
    ("transfer_learning", 1_026),
    ("finetune_new_classifier", 1_026),
    ("finetune_pretrained_classifier", 1_026),
    ("finetune_imagenet_rows", 1_026),
    ("partial_finetune", 602_080 + 1_026),  # the Fire modules after the last pool, features[9:13]
    ("full_finetune", 1_235_496 - 513_000 + 1_026),
    ("from_scratch", 1_235_496 - 513_000 + 1_026),
])
def test_recipes_on_squeezenet(name, trainable):
    model = recipes.apply(name, torchvision.models.squeezenet1_1(weights=None), 2)
    assert freezing.trainable_count(model) == trainable
    assert model(torch.randn(1, 3, 64, 64)).shape == (1, 2)


def test_unknown_recipe_suggests_a_name():
    with pytest.raises(ValueError, match="unknown recipe 'transfer_learnig'. Did you mean 'transfer_learning'"):
        recipes.apply("transfer_learnig", tiny_vgg(2), 2)


def test_recipes_needing_features_refuse_other_models():
    resnet = torchvision.models.resnet18(weights=None)
    with pytest.raises(TypeError, match="needs a model with a `features` section"):
        recipes.partial_finetune(resnet, 2)
    assert freezing.trainable_count(recipes.transfer_learning(resnet, 2)) == 1_026


def test_signature_says_when_two_recipes_are_one_on_a_network():
    squeeze = torchvision.models.squeezenet1_1(weights=None)
    before = {k: v.clone() for k, v in squeeze.state_dict().items()}
    signatures = {n: recipes.signature(n, squeeze, 2)[0] for n in recipes.RECIPES}
    # SqueezeNet's classifier is its head alone: the three head-only recipes are one
    assert (signatures["transfer_learning"] == signatures["finetune_new_classifier"]
            == signatures["finetune_pretrained_classifier"])
    # the same parameters from other values: the rows recipe is not one of them
    assert signatures["finetune_imagenet_rows"][0] == signatures["transfer_learning"][0]
    assert signatures["finetune_imagenet_rows"] != signatures["transfer_learning"]
    assert len(set(signatures.values())) == 5
    assert all(torch.equal(before[k], v) for k, v in squeeze.state_dict().items())  # untouched
    tiny = {n: recipes.signature(n, tiny_vgg(1000), 2)[0] for n in recipes.RECIPES}
    # on a VGG the three finetune_* variants train the same layers from different values
    assert (tiny["finetune_new_classifier"][0] == tiny["finetune_pretrained_classifier"][0]
            == tiny["finetune_imagenet_rows"][0])
    assert len(set(tiny.values())) == 7
    assert tiny["finetune_imagenet_rows"][2] == "default rows"
    assert recipes.signature("finetune_imagenet_rows", tiny_vgg(1000), 2, rows=(5, 6))[0][2] == (5, 6)
    resnet = torchvision.models.resnet18(weights=None)
    missing, why = recipes.signature("partial_finetune", resnet, 2)
    assert missing is None and "`features` section" in why


def test_each_recipe_says_whether_it_starts_from_random_weights():
    """The lab reads the flag, never the name (tests/test_compare.py gives a new recipe it)."""
    assert {n for n, r in recipes.RECIPES.items() if r.random_start} == {"from_scratch"}
    assert recipes.get("from_scratch").apply is recipes.from_scratch
    model = recipes.RECIPES["transfer_learning"](tiny_vgg(10), 2)  # a recipe is still a call
    assert recipes.freezing.trainable_count(model) == 66
    assert recipes.describe("from_scratch") == recipes.get("from_scratch").description
    with pytest.raises(ValueError, match="Did you mean 'from_scratch'"):
        recipes.get("from_scrach")


# ---------------------------------------------------------------- the head started from ImageNet's rows


def _squeezenet_with_biases():
    model = torchvision.models.squeezenet1_1(weights=None)
    torch.nn.init.normal_(model.classifier[1].bias)  # torchvision's are all 0: no test of order
    return model


@pytest.mark.parametrize("make, path", [(lambda: tiny_vgg(1000), "classifier.6"),
                                        (_squeezenet_with_biases, "classifier.1")])
@pytest.mark.parametrize("rows", [(imagenet.ANT, imagenet.BEE), (309, 310), (7, 990, 3)])
def test_the_new_head_is_the_old_heads_rows_in_order_and_trains(make, path, rows):
    torch.manual_seed(0)
    model = make()
    old = copy.deepcopy(model).eval()
    recipes.apply("finetune_imagenet_rows", model, len(rows), rows=rows)
    before, after = old.get_submodule(path), model.get_submodule(path)
    assert after.out_features if hasattr(after, "out_features") else after.out_channels == len(rows)
    assert torch.equal(after.weight, before.weight[list(rows)])
    assert torch.equal(after.bias, before.bias[list(rows)])
    assert after.weight.requires_grad and after.bias.requires_grad
    assert all(not p.requires_grad for p in model.features.parameters())
    assert all(p.requires_grad for p in model.classifier.parameters())
    # untrained, it scores exactly what the old head's rows score
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(model.eval()(x), old(x)[:, list(rows)], atol=1e-5)
    # and it trains: the loss reaches the head and the classifier, not the frozen features
    torch.nn.functional.cross_entropy(model.train()(x), torch.tensor([0, 1])).backward()
    assert after.weight.grad is not None and after.bias.grad is not None
    assert all(p.grad is None for p in model.features.parameters())


def test_imagenet_rows_on_vgg16s_shape_trains_what_the_article_variants_train():
    with torch.device("meta"):
        skeleton = torchvision.models.vgg16(weights=None)
    counts = {name: freezing.trainable_count(recipes.apply(name, copy.deepcopy(skeleton), 2))
              for name in ("finetune_new_classifier", "finetune_pretrained_classifier",
                           "finetune_imagenet_rows")}
    assert counts == dict.fromkeys(counts, 119_554_050)
    model = recipes.finetune_imagenet_rows(copy.deepcopy(skeleton), 2)
    assert freezing.counts(model).total == 134_268_738
    assert model.classifier[6].weight.shape == (2, 4096)


def test_imagenet_rows_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match=r"one ImageNet row per class: 3 classes, 2 rows.*rows_for"):
        recipes.finetune_imagenet_rows(tiny_vgg(1000), 3)  # the default rows are for 2 classes
    with pytest.raises(ValueError, match="one ImageNet row per class: 2 classes, 1 rows"):
        recipes.apply("finetune_imagenet_rows", tiny_vgg(1000), 2, rows=(310,))
    # a head that was already replaced has no row 310
    with pytest.raises(ValueError, match="has 2 outputs, so no row 310.*before any other head"):
        recipes.apply("finetune_imagenet_rows", recipes.transfer_learning(tiny_vgg(1000), 2), 2)
    with pytest.raises(ValueError, match="each kept output once"):
        recipes.apply("finetune_imagenet_rows", tiny_vgg(1000), 2, rows=(3, 3))
    with pytest.raises(TypeError, match="takes no rows; finetune_imagenet_rows"):
        recipes.apply("transfer_learning", tiny_vgg(1000), 2, rows=(310, 309))
    with pytest.raises(TypeError, match="`features` section"):
        recipes.finetune_imagenet_rows(torchvision.models.resnet18(weights=None), 2)
    assert [n for n, r in recipes.RECIPES.items() if r.imagenet_rows] == ["finetune_imagenet_rows"]
