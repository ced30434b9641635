"""Conversions (growth/conversions.py): a person's click on a newsletter link, through the real click view, leaves a
signed first-party cookie (only with consent); a goal page of the site served by the test client then records one
conversion per delivery and goal, attributed to the campaign and the link. Forged, altered or expired cookies, no
consent, scanners, other sites and inactive goals record nothing."""

import datetime
import time
from unittest import mock

import pytest
from django.core import signing
from django.test import Client, RequestFactory
from django.urls import reverse
from home.models import HomePage
from wagtail.contrib.forms.models import FormSubmission
from wagtail.models import Site

from wagtail_newsletter.compose.compiled import compile_email
from wagtail_newsletter.compose.merge_tags import standard_variables
from wagtail_newsletter.growth import conversions
from wagtail_newsletter.growth.goals import Conversion, Goal
from wagtail_newsletter.send.links import forget_compiled
from wagtail_newsletter.send.models import Campaign, Delivery, DeliveryStatus
from wagtail_newsletter.tokens import LinkSigner

pytestmark = pytest.mark.django_db

BASE = "http://testserver"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SCANNER = "Mozilla/5.0 (compatible; Barracuda Sentinel (EE))"
COOKIE = "wn_click"
GOAL_LINK, OFFER_LINK, OTHER_SITE_LINK = 0, 1, 2


def consent_from_header(request):
    """A site's own consent check (CONVERSION_CONSENT as a dotted path)."""
    return request.headers.get("X-Consent") == "granted"


@pytest.fixture(autouse=True)
def consent_cookie(settings):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "CONVERSION_CONSENT_COOKIE": "cookie_consent"}
    forget_compiled()
    yield
    forget_compiled()


@pytest.fixture
def goal_page():
    root = Site.objects.get(is_default_site=True).root_page
    return root.add_child(instance=HomePage(title="Thank you", slug="thank-you"))


@pytest.fixture
def goal(goal_page):
    return Goal.objects.create(name="Ticket bought", page=goal_page)


@pytest.fixture
def delivery(goal_page):
    anchors = (
        f'<p><a href="{BASE}/thank-you/">Buy</a> <a href="{BASE}/offers/">Offers</a> '
        '<a href="https://elsewhere.example/">Elsewhere</a></p>'
    )
    variables = {variable.name: variable for variable in standard_variables("en", BASE)}
    document = f"<!DOCTYPE html><html><head><title>News</title></head><body>{anchors}</body></html>"
    compiled = compile_email(document, subject="News", base_url=BASE, variables=variables, language="en")
    campaign = Campaign.objects.create(name="Concerts", compiled=compiled.to_dict(), subject="News", status="sent")
    return Delivery.objects.create(campaign=campaign, status=DeliveryStatus.SENT)


def click_path(delivery, link):
    return reverse("wagtail_newsletter:click", args=[LinkSigner("click").sign(delivery.pk, link, delivery.campaign_id)])


def reader(consent="yes"):
    client = Client(HTTP_USER_AGENT=FIREFOX)
    if consent is not None:
        client.cookies["cookie_consent"] = consent
    return client


def test_a_click_then_the_goal_page_records_one_conversion_for_the_campaign_and_the_link(delivery, goal, goal_page):
    client = reader()
    response = client.get(click_path(delivery, GOAL_LINK))
    assert response.status_code == 302 and response["Location"] == f"{BASE}/thank-you/"
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert int(cookie["max-age"]) == 7 * 86400
    assert client.get(goal_page.url).status_code == 200
    (conversion,) = Conversion.objects.all()
    assert (conversion.delivery_id, conversion.campaign_id, conversion.goal, conversion.link) == (
        delivery.pk,
        delivery.campaign_id,
        goal,
        GOAL_LINK,
    )
    # A second visit, and a second click then a visit: still one conversion for this delivery and goal.
    assert client.get(goal_page.url).status_code == 200
    client.get(click_path(delivery, OFFER_LINK))
    client.get(goal_page.url)
    assert Conversion.objects.count() == 1


def test_the_link_that_led_there_is_the_one_credited(delivery, goal, goal_page):
    client = reader()
    client.get(click_path(delivery, OFFER_LINK))  # the offers page, then the visitor walks on to the goal
    client.get(goal_page.url)
    assert list(Conversion.objects.values_list("link", flat=True)) == [OFFER_LINK]


@pytest.mark.parametrize("consent", [None, "", "no", "deny", "0"])
def test_without_consent_no_cookie_and_no_conversion(delivery, goal, goal_page, consent):
    client = reader(consent)
    response = client.get(click_path(delivery, GOAL_LINK))
    assert response.status_code == 302 and COOKIE not in response.cookies
    client.get(goal_page.url)
    assert not Conversion.objects.exists()


def test_consent_withdrawn_before_the_goal_records_nothing(delivery, goal, goal_page):
    client = reader()
    client.get(click_path(delivery, GOAL_LINK))
    client.cookies["cookie_consent"] = "no"
    client.get(goal_page.url)
    assert not Conversion.objects.exists()


def test_consent_from_the_site_s_own_callable(settings, delivery, goal, goal_page):
    settings.WAGTAIL_NEWSLETTER = {
        **settings.WAGTAIL_NEWSLETTER,
        "CONVERSION_CONSENT": "tests.test_conversions.consent_from_header",
    }
    refused = reader(consent=None)
    assert COOKIE not in refused.get(click_path(delivery, GOAL_LINK)).cookies
    granted = reader(consent=None)
    granted.get(click_path(delivery, GOAL_LINK), HTTP_X_CONSENT="granted")
    granted.get(goal_page.url, HTTP_X_CONSENT="granted")
    assert Conversion.objects.count() == 1


def test_scanners_and_links_to_other_sites_get_no_cookie(delivery, goal):
    scanner = reader()
    assert COOKIE not in scanner.get(click_path(delivery, GOAL_LINK), HTTP_USER_AGENT=SCANNER).cookies
    assert COOKIE not in reader().head(click_path(delivery, GOAL_LINK)).cookies  # a link checker
    response = reader().get(click_path(delivery, OTHER_SITE_LINK))
    assert response["Location"] == "https://elsewhere.example/" and COOKIE not in response.cookies


def forged_cookies(delivery):
    good = signing.get_cookie_signer(salt=COOKIE + conversions.COOKIE_SALT)
    token = LinkSigner("click").sign(delivery.pk, GOAL_LINK, delivery.campaign_id)
    genuine = good.sign(token)
    return {
        "altered signature": genuine[:-1] + ("A" if genuine[-1] != "A" else "B"),
        "unsigned token": token,
        "another salt": signing.get_cookie_signer(salt=COOKIE + "other").sign(token),
        "forged click token": good.sign(token[:-1] + ("a" if token[-1] != "a" else "b")),
        "open token": good.sign(LinkSigner("open").sign(delivery.pk, delivery.campaign_id)),
        "another campaign": good.sign(LinkSigner("click").sign(delivery.pk, GOAL_LINK, delivery.campaign_id + 1)),
        "no such delivery": good.sign(LinkSigner("click").sign(delivery.pk + 99, GOAL_LINK, delivery.campaign_id)),
        "garbage": "x" * 300,
    }


def test_forged_or_altered_cookies_record_nothing(delivery, goal, goal_page):
    for name, value in forged_cookies(delivery).items():
        client = reader()
        client.cookies[COOKIE] = value
        assert client.get(goal_page.url).status_code == 200, name
        assert not Conversion.objects.exists(), name
    genuine = signing.get_cookie_signer(salt=COOKIE + conversions.COOKIE_SALT)
    client.cookies[COOKIE] = genuine.sign(LinkSigner("click").sign(delivery.pk, GOAL_LINK, delivery.campaign_id))
    client.get(goal_page.url)
    assert Conversion.objects.count() == 1  # the same request with the genuine cookie does count


def test_an_expired_cookie_records_nothing(delivery, goal, goal_page):
    signer = signing.get_cookie_signer(salt=COOKIE + conversions.COOKIE_SALT)
    token = LinkSigner("click").sign(delivery.pk, GOAL_LINK, delivery.campaign_id)
    eight_days_ago = time.time() - 8 * 86400
    with mock.patch("django.core.signing.time.time", return_value=eight_days_ago):
        old = signer.sign(token)
    client = reader()
    client.cookies[COOKIE] = old
    client.get(goal_page.url)
    assert not Conversion.objects.exists()
    with mock.patch("django.core.signing.time.time", return_value=time.time() - 6 * 86400):
        client.cookies[COOKIE] = signer.sign(token)  # within the 7 days: counts
    client.get(goal_page.url)
    assert Conversion.objects.count() == 1


def test_an_inactive_goal_or_another_page_records_nothing(delivery, goal, goal_page):
    goal.active = False
    goal.save()
    client = reader()
    client.get(click_path(delivery, GOAL_LINK))
    client.get(goal_page.url)
    client.get("/")  # the home page is no goal
    assert not Conversion.objects.exists()


def test_a_form_goal_counts_when_the_page_saves_a_submission_in_that_request(delivery, goal_page):
    form_goal = Goal.objects.create(name="Contact form", page=goal_page, trigger=Goal.FORM)
    cookie = reader().get(click_path(delivery, GOAL_LINK)).cookies[COOKIE].value
    factory = RequestFactory()

    def post():
        request = factory.post(goal_page.url, {"message": "hello"})
        request.COOKIES.update({COOKIE: cookie, "cookie_consent": "yes"})
        return request

    conversions.page_served(goal_page, factory.get(goal_page.url), (), {})  # a GET of a form page: no conversion
    assert not Conversion.objects.exists()
    conversions.page_served(goal_page, post(), (), {})
    FormSubmission.objects.create(page=goal_page.get_parent(), form_data={})  # another page's submission
    assert not Conversion.objects.exists()
    FormSubmission.objects.create(page=goal_page, form_data={"message": "hello"})
    assert list(Conversion.objects.values_list("goal", "link")) == [(form_goal.pk, GOAL_LINK)]
    # A form posted without a saved submission (invalid): the pending goal ends with the request.
    conversions.page_served(goal_page, post(), (), {})
    conversions.request_done(None)
    FormSubmission.objects.create(page=goal_page, form_data={})
    assert Conversion.objects.count() == 1


def test_goals_are_unique_per_page_and_trigger(goal_page, goal):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Goal.objects.create(name="Same again", page=goal_page)
    assert Goal.objects.count() == 1


def test_the_click_view_sets_no_cookie_when_conversions_are_not_configured(settings, delivery, goal):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "CONVERSION_CONSENT_COOKIE": ""}
    response = reader().get(click_path(delivery, GOAL_LINK))
    assert response.status_code == 302 and not response.cookies


def test_cookie_lifetime_follows_the_setting(settings, delivery, goal):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "CONVERSION_DAYS": 2}
    cookie = reader().get(click_path(delivery, GOAL_LINK)).cookies[COOKIE]
    assert int(cookie["max-age"]) == int(datetime.timedelta(days=2).total_seconds())
