"""Tests for vgg_course.compare.stats: the uncertainty of an accuracy measured on n images."""

from __future__ import annotations

import math

import pytest

from vgg_course.compare import stats


@pytest.mark.parametrize("correct, n", [(141, 153), (1, 10), (5, 10), (9, 10), (83, 153),
                                        (140.6, 153), (3, 1000)])
def test_wilson_endpoints_solve_the_score_test(correct, n):
    # the definition as the oracle: p is an endpoint where (p_hat - p)^2 = z^2 p (1 - p) / n
    z, p_hat = 1.96, correct / n
    low, high = stats.wilson(correct, n, z)
    for p in (low, high):
        assert (p_hat - p) ** 2 == pytest.approx(z * z * p * (1 - p) / n, rel=1e-9, abs=1e-15)
    assert low < p_hat < high
    # just inside the interval the test does not reject, just outside it does
    for inside in (low + 1e-6, high - 1e-6):
        assert (p_hat - inside) ** 2 < z * z * inside * (1 - inside) / n
    for outside in (low - 1e-6, high + 1e-6):
        assert (p_hat - outside) ** 2 > z * z * outside * (1 - outside) / n


def test_wilson_by_hand_and_at_the_edges():
    # 0 of n: the upper end is z^2 / (n + z^2) in closed form; n of n mirrors it
    z2 = 1.96 ** 2
    assert stats.wilson(0, 10) == (0.0, pytest.approx(z2 / (10 + z2)))
    assert stats.wilson(10, 10) == (pytest.approx(10 / (10 + z2)), 1.0)
    assert stats.wilson(0, 10)[1] == pytest.approx(0.2775, abs=5e-5)  # the textbook value
    # half right: symmetric around 50%
    low, high = stats.wilson(50, 100)
    assert 0.5 - low == pytest.approx(high - 0.5)
    assert (round(low, 4), round(high, 4)) == (0.4038, 0.5962)
    # a wider z gives a wider interval, a bigger sample a narrower one
    assert stats.wilson(50, 100, z=2.58)[0] < low
    assert stats.wilson(500, 1000)[0] > low


def test_153_validation_images_at_92_percent_leave_about_4_points_each_way():
    low, high = stats.wilson(0.92 * 153, 153)
    assert 0.04 < (high - low) / 2 < 0.047
    assert stats.sampling_sd(0.92, 153) == pytest.approx(math.sqrt(0.92 * 0.08 / 153))
    assert 0.021 < stats.sampling_sd(0.92, 153) < 0.023  # "about 2 points" sd


def test_sampling_sd_edges():
    assert stats.sampling_sd(0.0, 50) == stats.sampling_sd(1.0, 50) == 0.0
    assert stats.sampling_sd(0.5, 100) == pytest.approx(0.05)


@pytest.mark.parametrize("call", [lambda: stats.wilson(11, 10), lambda: stats.wilson(-1, 10),
                                  lambda: stats.wilson(1, 0), lambda: stats.wilson(1, 2.5),
                                  lambda: stats.sampling_sd(1.2, 10),
                                  lambda: stats.sampling_sd(0.5, 0)])
def test_impossible_inputs_are_refused(call):
    with pytest.raises(ValueError):
        call()
