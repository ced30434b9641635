"""Drawing the A/B test's samples: one ``INSERT … SELECT`` that orders the audience by a seeded hash and cuts it.

The order is ``md5(seed || subscriber id)`` (PostgreSQL's ``md5``; on SQLite the ``MD5`` function Django registers on
every connection), ties broken by id: the same seed and the same audience always give the same samples, and the
samples of different seeds are independent. ``ROW_NUMBER()`` over that order numbers the audience; the first
``n_A`` go to A, the next ``n_B`` to B, and so on. ``ON CONFLICT DO NOTHING`` on the (test, subscriber) unique
constraint means a subscriber can never land in two samples, whatever runs twice.
"""

from django.db import connection
from django.db.models import CharField, F, Value, Window
from django.db.models.functions import MD5, Cast, Concat, RowNumber
from django.utils.translation import gettext as _

from ..send.planner import campaign_recipients
from .ab_tests import AbSample


class SampleError(Exception):
    """The samples can't be drawn as asked; the message is for the editor."""


def sample_sizes(audience_size, percents):
    """How many people each variant gets: ``percent`` of the audience, rounded down."""
    return [audience_size * percent // 100 for percent in percents]


def check_sizes(audience_size, percents, letters):
    sizes = sample_sizes(audience_size, percents)
    if sum(percents) > 100:
        raise SampleError(_("The samples add up to more than 100 % of the audience."))
    for letter, size in zip(letters, sizes, strict=True):
        if size < 1:
            raise SampleError(
                _("Variant %(letter)s's sample would be empty: the audience (%(count)d) is too small.")
                % {"letter": letter, "count": audience_size}
            )
    return sizes


def ranked_audience(audience, seed):
    """The audience's ids with their rank in the seeded order (a values queryset, not evaluated)."""
    order = MD5(Concat(Value(seed), Cast("pk", output_field=CharField()), output_field=CharField()))
    return audience.order_by().values(
        sample_id=F("pk"), sample_rank=Window(RowNumber(), order_by=[order.asc(), F("pk").asc()])
    )


def draw_samples(ab_test, variants):
    """Fill the samples of ``variants`` (in letter order) from the test's audience; return their sizes.

    Call inside the transaction that starts the test (with its row locked)."""
    audience = campaign_recipients(ab_test.campaign)
    percents = [variant.sample_percent for variant in variants]
    sizes = check_sizes(audience.count(), percents, [variant.letter for variant in variants])
    query = ranked_audience(audience, ab_test.seed).query
    select_sql, params = query.sql_with_params()
    cases, case_params, upper = [], [], 0
    for variant, size in zip(variants, sizes, strict=True):
        upper += size
        cases.append("WHEN ranked.sample_rank <= %s THEN %s")
        case_params += [upper, variant.pk]
    table = connection.ops.quote_name(AbSample._meta.db_table)
    sql = (
        f"INSERT INTO {table} (ab_test_id, variant_id, subscriber_id) "
        f"SELECT %s, CASE {' '.join(cases)} END, ranked.sample_id "
        f"FROM ({select_sql}) ranked WHERE ranked.sample_rank <= %s "
        "ON CONFLICT (ab_test_id, subscriber_id) DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [ab_test.pk, *case_params, *params, upper])
    return sizes
