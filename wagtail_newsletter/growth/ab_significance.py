"""Is a difference between two variants' rates chance? A two-sided two-proportion z-test, told in words."""

import math
from dataclasses import dataclass

from django.utils.translation import gettext as _

# Below this p-value the difference is "unlikely to be chance" (the usual 95 % level).
SIGNIFICANCE_LEVEL = 0.05


@dataclass(frozen=True)
class Comparison:
    rate_a: float
    rate_b: float
    difference: float  # rate_b - rate_a, as a fraction (0.05: five percentage points)
    z: float
    p_value: float

    @property
    def significant(self):
        return self.p_value < SIGNIFICANCE_LEVEL


def two_proportion_test(successes_a, trials_a, successes_b, trials_b):
    """z and two-sided p-value of "B's rate differs from A's", with the pooled standard error.

    With no trials on a side, or no spread (everyone or nobody succeeded on both), z is 0 and p is 1: no evidence.
    """
    rate_a = successes_a / trials_a if trials_a else 0.0
    rate_b = successes_b / trials_b if trials_b else 0.0
    if not trials_a or not trials_b:
        return Comparison(rate_a, rate_b, rate_b - rate_a, 0.0, 1.0)
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    error = math.sqrt(pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b))
    if error == 0:
        return Comparison(rate_a, rate_b, rate_b - rate_a, 0.0, 1.0)
    z = (rate_b - rate_a) / error
    return Comparison(rate_a, rate_b, rate_b - rate_a, z, math.erfc(abs(z) / math.sqrt(2)))


def verdict(comparison, name_a, name_b):
    """ "B beats A; the difference is unlikely to be chance." or "A and B are too close to call." """
    if not comparison.significant or comparison.difference == 0:
        return _("%(a)s and %(b)s are too close to call.") % {"a": name_a, "b": name_b}
    better, worse = (name_b, name_a) if comparison.difference > 0 else (name_a, name_b)
    return _("%(better)s beats %(worse)s; the difference is unlikely to be chance.") % {
        "better": better,
        "worse": worse,
    }


class PeopleRates:
    """Rates of a group of recipients with ``sent``, ``openers`` and ``clickers`` (people, not hits)."""

    @property
    def open_rate(self):
        return self.openers / self.sent if self.sent else 0.0

    @property
    def click_rate(self):
        return self.clickers / self.sent if self.sent else 0.0

    @property
    def open_percent(self):
        return round(100 * self.open_rate, 1)

    @property
    def click_percent(self):
        return round(100 * self.click_rate, 1)
