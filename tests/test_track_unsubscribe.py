"""The unsubscribe link of a sent message: RFC 8058 one-click POST and the GET confirmation page."""

import datetime

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from wagtail_newsletter.audience import services
from wagtail_newsletter.audience.models import Source, Status, StatusEvent, Subscriber
from wagtail_newsletter.compose.compiled import compile_email
from wagtail_newsletter.compose.merge_tags import standard_variables
from wagtail_newsletter.send.links import CampaignLinks
from wagtail_newsletter.send.models import Campaign, Delivery
from wagtail_newsletter.tokens import LinkSigner
from wagtail_newsletter.track.unsubscribe import delivery_for_token, mask_email, unsubscribe_delivery

pytestmark = pytest.mark.django_db

BASE = "https://news.example.org"
BODY = """<p>Hello {{ first_name|default:"reader" }}</p>
<p><a href="https://example.org/article">Read the article</a> <a href="mailto:editor@example.org">Write to us</a>
<a href="/events/">Events</a></p>
<p><a href="{{ web_version_url }}">View in your browser</a> <a href="{{ unsubscribe_url }}">Unsubscribe</a></p>"""


def make_campaign(name="Weekly news", body=BODY, language="en", tracking=True):
    variables = {variable.name: variable for variable in standard_variables(language, BASE)}
    document = f"<!DOCTYPE html><html><head><title>News</title></head><body>{body}</body></html>"
    compiled = compile_email(document, subject="News", base_url=BASE, variables=variables, language=language)
    return Campaign.objects.create(
        name=name, compiled=compiled.to_dict(), subject="News", status="sending", tracking_enabled=tracking
    )


def make_delivery(campaign=None, email="jane.doe@example.org", **fields):
    campaign = campaign or make_campaign()
    fields.setdefault("status", Status.SUBSCRIBED)
    subscriber = Subscriber.objects.create(email=email, **fields)
    return Delivery.objects.create(campaign=campaign, subscriber=subscriber, status=2)


def token(delivery, purpose="unsubscribe"):
    return LinkSigner(purpose).sign(delivery.pk)


def url(delivery_or_token, slash=False):
    value = delivery_or_token if isinstance(delivery_or_token, str) else token(delivery_or_token)
    return reverse("wagtail_newsletter:unsubscribe", args=[value]) + ("/" if slash else "")


def status(delivery):
    return Subscriber.all_objects.get(pk=delivery.subscriber_id).status


def assert_no_cookie(response):
    assert not response.cookies, response.cookies
    assert "Set-Cookie" not in response.headers


@pytest.fixture
def delivery():
    return make_delivery()


# --- the one-click POST -----------------------------------------------------------------------------------------


def test_one_click_post_urlencoded_unsubscribes_at_once_with_a_history_entry(delivery):
    response = Client().post(
        url(delivery), "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    assert status(delivery) == Status.UNSUBSCRIBED
    event = StatusEvent.objects.get(subscriber_id=delivery.subscriber_id)
    assert (event.old_status, event.new_status, event.source) == (
        Status.SUBSCRIBED,
        Status.UNSUBSCRIBED,
        Source.UNSUBSCRIBE_LINK,
    )
    assert event.note == f"one-click, campaign #{delivery.campaign_id} Weekly news"


def test_one_click_post_multipart(delivery):
    response = Client().post(url(delivery), {"List-Unsubscribe": "One-Click"})  # multipart/form-data
    assert response.status_code == 200
    assert status(delivery) == Status.UNSUBSCRIBED
    assert StatusEvent.objects.get().note.startswith("one-click,")


@pytest.mark.parametrize("slash", [False, True])
@override_settings(APPEND_SLASH=True)
def test_post_is_never_redirected_with_or_without_a_trailing_slash(slash):
    delivery = make_delivery()
    response = Client().post(url(delivery, slash=slash), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and "Location" not in response.headers
    assert status(delivery) == Status.UNSUBSCRIBED


def test_the_mailed_url_is_the_one_that_works(delivery):
    mailed = CampaignLinks.of(delivery.campaign, BASE).for_delivery(delivery.pk).unsubscribe_url
    assert mailed.startswith(BASE + "/newsletter/u/") and not mailed.endswith("/")
    response = Client().post(mailed[len(BASE) :], {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and status(delivery) == Status.UNSUBSCRIBED


def test_repeated_post_answers_200_and_writes_one_history_entry(delivery):
    client = Client()
    for _ in range(3):
        response = client.post(url(delivery), {"List-Unsubscribe": "One-Click"})
        assert response.status_code == 200
        assert "You are unsubscribed" in response.content.decode()
    assert StatusEvent.objects.filter(subscriber_id=delivery.subscriber_id).count() == 1


def test_post_needs_no_csrf_token_no_login_and_sets_no_cookie(delivery):
    client = Client(enforce_csrf_checks=True)
    client.cookies["sessionid"] = "nonsense"
    client.cookies["csrftoken"] = "x" * 32
    response = client.post(url(delivery), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert_no_cookie(response)
    assert status(delivery) == Status.UNSUBSCRIBED


def test_page_button_post_without_the_one_click_body_unsubscribes_too(delivery):
    response = Client(enforce_csrf_checks=True).post(url(delivery))
    assert response.status_code == 200 and status(delivery) == Status.UNSUBSCRIBED
    assert StatusEvent.objects.get().note.startswith("unsubscribe page,")


def test_a_malformed_multipart_body_does_not_stop_the_unsubscribe(delivery):
    response = Client().post(url(delivery), b"--x\r\ngarbage", content_type="multipart/form-data; boundary=x")
    assert response.status_code == 200 and status(delivery) == Status.UNSUBSCRIBED


def test_token_case_changed_by_a_mail_system_still_works(delivery):
    response = Client().post(url(token(delivery).upper()), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and status(delivery) == Status.UNSUBSCRIBED


def test_a_deleted_subscriber_is_unsubscribed_too(delivery):
    services.delete_subscribers([delivery.subscriber_id])
    assert Client().post(url(delivery)).status_code == 200
    assert status(delivery) == Status.UNSUBSCRIBED


def test_erased_subscriber_gets_the_page_and_nothing_is_written(delivery):
    services.forget_subscribers([delivery.subscriber_id])
    services.erase_forgotten(now=timezone.now() + datetime.timedelta(days=365))
    delivery.refresh_from_db()
    assert delivery.subscriber_id is None
    events = StatusEvent.objects.count()
    for response in (Client().get(url(delivery)), Client().post(url(delivery), {"List-Unsubscribe": "One-Click"})):
        assert response.status_code == 200
        assert "You are unsubscribed" in response.content.decode()
        assert "@" not in response.content.decode().split("<main", 1)[1]
    assert StatusEvent.objects.count() == events


def test_dangling_subscriber_id_is_nothing_to_do():
    delivery = make_delivery()
    Delivery.objects.filter(pk=delivery.pk).update(subscriber_id=10**9)  # no database constraint
    assert Client().post(url(delivery)).status_code == 200
    assert not StatusEvent.objects.exists()


# --- the GET page ---------------------------------------------------------------------------------------------------


def test_get_shows_a_button_posting_to_the_same_url_and_a_masked_address(delivery):
    response = Client().get(url(delivery))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<button") == 1
    assert f'<form method="post" action="{url(delivery)}">' in html
    assert "j•••e@e•••.org" in html and "jane.doe" not in html
    assert "csrfmiddlewaretoken" not in html
    assert_no_cookie(response)
    assert response["X-Robots-Tag"] == "noindex" and "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("slash", [False, True])
def test_get_and_head_never_unsubscribe(delivery, slash):
    client = Client()
    assert client.get(url(delivery, slash=slash)).status_code == 200
    response = client.head(url(delivery, slash=slash))
    assert response.status_code == 200 and not response.content
    assert_no_cookie(response)
    assert status(delivery) == Status.SUBSCRIBED and not StatusEvent.objects.exists()


def test_get_after_unsubscribing_says_so(delivery):
    Client().post(url(delivery))
    html = Client().get(url(delivery)).content.decode()
    assert "You are unsubscribed" in html and "<button" not in html


@pytest.mark.parametrize("method", ["put", "patch", "delete", "options"])
def test_other_methods_are_not_allowed(delivery, method):
    response = getattr(Client(), method)(url(delivery))
    assert response.status_code == 405
    assert set(response["Allow"].split(", ")) == {"GET", "HEAD", "POST"}
    assert status(delivery) == Status.SUBSCRIBED


def test_page_speaks_the_subscribers_language():
    delivery = make_delivery(language="fr")
    response = Client().get(url(delivery), HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="fr">' in response.content.decode()
    assert response["Content-Language"] == "fr"


def test_page_falls_back_to_the_campaigns_language():
    delivery = make_delivery(campaign=make_campaign(language="fr"), language="de")
    response = Client().post(url(delivery), HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="fr">' in response.content.decode()


# --- bad tokens ----------------------------------------------------------------------------------------------------


def altered(value):
    last = value[-1]
    return value[:-1] + ("a" if last != "a" else "b")


def bad_tokens(delivery):
    good = token(delivery)
    payload, signature = good.rsplit(".", 1)
    return [
        altered(good),  # one character of the signature
        LinkSigner("unsubscribe").sign(delivery.pk + 1)[: len(payload) + 1] + signature,  # another id, same signature
        token(delivery, "web"),  # made for another purpose
        token(delivery, "click"),
        LinkSigner("click").sign(delivery.pk, 0),
        LinkSigner("unsubscribe").sign(delivery.pk, 0),  # right purpose, wrong shape
        LinkSigner("unsubscribe").sign(delivery.pk + 1000),  # valid, but no such delivery
        "nothing",
        good.split(".")[0],
    ]


def test_forged_or_altered_tokens_get_404_and_write_nothing(delivery):
    client = Client()
    for bad in bad_tokens(delivery):
        for method in (client.get, client.post):
            response = method(url(bad), {"List-Unsubscribe": "One-Click"} if method == client.post else None)
            assert response.status_code == 404, bad
            assert_no_cookie(response)
    assert status(delivery) == Status.SUBSCRIBED and not StatusEvent.objects.exists()


def test_a_token_too_long_or_with_other_characters_is_not_routed(delivery):
    assert Client().post(url(delivery) + "x" * 100).status_code == 404
    assert Client().post(url(delivery).replace(".", "-.", 1)).status_code == 404
    assert status(delivery) == Status.SUBSCRIBED


# --- key rotation ----------------------------------------------------------------------------------------------------


def test_tokens_survive_a_secret_key_rotation(delivery):
    with override_settings(SECRET_KEY="old-key-" + "o" * 50):
        old_token = token(delivery)
    with override_settings(SECRET_KEY="new-key-" + "n" * 50, SECRET_KEY_FALLBACKS=["old-key-" + "o" * 50]):
        assert Client().get(url(old_token)).status_code == 200
        assert Client().post(url(old_token), {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert status(delivery) == Status.UNSUBSCRIBED


def test_tokens_of_a_dropped_key_no_longer_work(delivery):
    with override_settings(SECRET_KEY="old-key-" + "o" * 50):
        old_token = token(delivery)
    with override_settings(SECRET_KEY="new-key-" + "n" * 50, SECRET_KEY_FALLBACKS=[]):
        assert Client().post(url(old_token)).status_code == 404
    assert status(delivery) == Status.SUBSCRIBED


def test_tokens_never_expire(delivery):
    old_token = token(delivery)
    # LinkSigner tokens carry no timestamp: nothing in them can age.
    assert old_token.count(".") == 1 and delivery_for_token("unsubscribe", old_token) == delivery


# --- the plain functions ------------------------------------------------------------------------------------------


def test_delivery_for_token_and_unsubscribe_delivery_without_http(delivery):
    found = delivery_for_token("unsubscribe", token(delivery))
    assert found == delivery and found.campaign.name == "Weekly news"
    assert delivery_for_token("unsubscribe", altered(token(delivery))) is None
    assert delivery_for_token("click", LinkSigner("click").sign(delivery.pk, 4), with_number=True) == (delivery, 4)
    assert unsubscribe_delivery(found, one_click=True) is True
    assert unsubscribe_delivery(found) is False
    assert StatusEvent.objects.count() == 1


def test_unsubscribe_of_a_bounced_subscriber_is_recorded():
    delivery = make_delivery(status=Status.BOUNCED)
    assert unsubscribe_delivery(delivery) is True
    assert status(delivery) == Status.UNSUBSCRIBED


@pytest.mark.parametrize(
    "address, masked",
    [
        ("jane.doe@example.org", "j•••e@e•••.org"),
        ("jo@mail.example.co.uk", "j•••@m•••.uk"),
        ("a@b.c", "a•••@b•••.c"),
        ("x@localhost", "x•••@l•••"),
        ("", ""),
    ],
)
def test_mask_email(address, masked):
    assert mask_email(address) == masked


@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_write_one_history_entry():
    # Providers retry, sometimes at the same moment: the row lock keeps it to one status change.
    import threading

    from django.db import connection

    delivery = make_delivery()
    target = url(delivery)
    barrier = threading.Barrier(4)
    codes = []

    def post():
        try:
            barrier.wait()
            codes.append(Client().post(target, {"List-Unsubscribe": "One-Click"}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [200] * 4
    assert status(delivery) == Status.UNSUBSCRIBED
    assert StatusEvent.objects.filter(subscriber_id=delivery.subscriber_id).count() == 1
