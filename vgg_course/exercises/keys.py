"""The digests of the prediction exercises' expected values: GENERATED, never edit by hand.

Written by ``python -m vgg_course exercises sync`` from the instructor's solutions
(``vgg_course.exercises.predictions.render_keys``); ``tests/test_exercises.py`` fails when
it is stale. Exercise id -> prediction key -> salted digest (``predictions.digest``).
"""

KEYS = {
    "comparison_lab.q4": {
        "fewest": "13556c8447c4f3462eb709773d640ada66d66bf82c4bde5480c38deb81450fe9",
        "same_as_full": "34d5504ea8ab0fa509e558d93917f4eb01fa65ccb52c76da7db7afab4335a9a1",
        "conv5": "78a250f707db5637bfd09832130d735f50e444d57bc51ee3f674901be51f14fa",
    },
    "fine_tuning.q4": {
        "sgd_momentum": "187e6c0dddcc1fabbcca2ea2323165cbe10bdc2c776813fd9f4226930d83101e",
        "adamw": "74a015fb3e1c2f3cbe306ac22e3fb01c6a076537ec209849c26008cc2ca3bf16",
        "frozen": "52d73b3d3bfc3c9b5f9b9f5b9ca0bd2318d6923717d4462a7e8903915730a19b",
    },
    "freezing.q3": {
        "trainable": "2771f21c85a33544f5988a6d8db388caa0dff25a01f12e5b39be9cdf4383962e",
        "first_conv_grad": "604d89b2b231d42e09a999b190aa6d554775cf91f5623277fd920648c8a46e10",
        "tensors_with_grad": "80cf0e369f5ab84de2fff43c9c35755ebc85b5be9a4f5fd562bae8b34732c680",
    },
    "other_networks.q4": {
        "squeezenet": "c661109ad44c46f9c1ff199da8a66f7ef6574289e1ea799ce85d9f8e2d2d1ffa",
        "mobilenet": "087326fa8f2d85eb398e005d496077cf30da0a9f4615c1397915bedcca695ca5",
    },
    "state_dict.q1": {
        "state_dict_entries": "426daf973f0cf7cb6241a6015489ba9136c74e0b935d43ffb52d17cc8616873e",
        "parameters": "3672237e708c4d1bbab4f997938f9ef7009c91e15018a4551f55d0f21f800b80",
    },
    "transfer_learning.q1": {
        "resnet_trainable": "f9b076f82337e9c85f3c74a9a7e5e59665dfdcadcad587f48b6ec49c95480656",
        "vgg_total": "3edf4f61497334d0088a2375ca1d3972f66b1504b67cb8d202fccac06c5581b1",
    },
}
