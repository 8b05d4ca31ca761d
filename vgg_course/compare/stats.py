"""The uncertainty of an accuracy measured on n images: a Wilson interval and a standard error.

An accuracy measured on 153 validation images is one draw: another 153 photos of the same
kind would give another number. ``sampling_sd`` is the standard error of that number,
``sqrt(p (1 - p) / n)``; ``wilson`` is its 95% confidence interval (the Wilson score
interval, which stays inside 0..1 and is sound near 0% and 100%, where ``p ± 1.96 sd``
is not). Neither says anything about seeds: a recipe's spread over seeds is measured by
running it again, this is what the choice of images alone leaves open.
"""

from __future__ import annotations

import math

from vgg_course.i18n import _

__all__ = ["sampling_sd", "wilson"]


def _check_n(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(_("n is the number of images an accuracy was measured on: a whole "
                           "number of at least 1, not {n!r}").format(n=n))


def wilson(correct: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of an accuracy of ``correct`` out of ``n`` (95% by default).

    ``correct`` may be fractional (a mean over seeds times ``n``). The interval holds every
    accuracy ``p`` whose score test does not reject the measured one:
    ``(correct / n - p) ** 2 <= z ** 2 * p * (1 - p) / n``.

    Raises:
        ValueError: ``n`` is not a positive whole number, or ``correct`` is outside 0..n.

    Example:
        >>> low, high = wilson(141, 153)  # 92.2% of the ants/bees validation photos
        >>> f"{low:.1%} - {high:.1%}"
        '86.8% - 95.5%'
        >>> wilson(0, 10)[0], round(wilson(0, 10)[1], 4)
        (0.0, 0.2775)
    """
    _check_n(n)
    if not 0 <= correct <= n:
        raise ValueError(_("correct must be between 0 and n={n}, not {correct!r}").format(
            n=n, correct=correct))
    p, z2 = correct / n, z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    # exact at the edges: nothing right means the interval starts at 0, all right ends at 1
    low = 0.0 if correct == 0 else max(0.0, centre - half)
    high = 1.0 if correct == n else min(1.0, centre + half)
    return low, high


def sampling_sd(p: float, n: int) -> float:
    """The standard error of an accuracy ``p`` measured on ``n`` images: ``sqrt(p (1 - p) / n)``.

    Raises:
        ValueError: ``p`` is outside 0..1, or ``n`` is not a positive whole number.

    Example:
        >>> f"{sampling_sd(0.92, 153):.1%}"  # one validation set of 153 photos at 92%
        '2.2%'
    """
    _check_n(n)
    if not 0 <= p <= 1:
        raise ValueError(_("p is an accuracy between 0 and 1, not {p!r}").format(p=p))
    return math.sqrt(p * (1 - p) / n)
