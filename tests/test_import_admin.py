"""The admin import wizard, end to end with the test client: upload, columns, dry run, import, rejects."""

import csv
import io

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from wagtail_newsletter.models import Group, ImportJob, Source, Status, Subscriber

pytestmark = pytest.mark.django_db

CSV = "E-mail;Prénom;Ville\nann@example.org;Ann;Paris\nnot-an-address;Bob;Lyon\nzoe@example.org;Zoé;Nice\n"


def upload(client, content=CSV, name="people.csv", **extra):
    data = {"file": SimpleUploadedFile(name, content.encode("utf-8")), "consent": "on", **extra}
    return client.post(reverse("newsletter_import:upload"), data)


def column_post(job, **targets):
    return {f"column_{index}": target for index, target in targets.items()}


def test_upload_page_asks_for_consent(admin_client):
    response = admin_client.get(reverse("newsletter_import:upload"))
    assert response.status_code == 200
    assert "Only import contacts who consented" in response.content.decode()


def test_wizard_imports_and_offers_the_rejected_rows(admin_client, django_capture_on_commit_callbacks):
    existing = Subscriber.objects.create(email="zoe@example.org", status=Status.UNSUBSCRIBED)
    group = Group.objects.create(name="Clients")

    response = upload(admin_client, groups=[group.pk], new_group="Salon 2026")
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == reverse("newsletter_import:mapping", args=[job.pk])

    page = admin_client.get(response.url).content.decode()
    assert "ann@example.org" in page and "Paris" in page  # sample values
    assert '<option value="email" selected>' in page  # guessed from "E-mail"

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(response.url, column_post(job, **{"0": "email", "1": "first_name", "2": ""}))
    job.refresh_from_db()
    assert job.state == ImportJob.State.CHECKED
    assert (job.created, job.updated, job.rejected) == (1, 1, 1)
    assert not Subscriber.objects.filter(email="ann@example.org").exists()  # dry run only
    summary = admin_client.get(response.url).content.decode()
    assert "Dry run" in summary and "Import now" in summary

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("newsletter_import:job", args=[job.pk]))
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE
    assert (job.created, job.updated, job.rejected) == (1, 1, 1)
    assert not job.file  # the uploaded personal data is not kept

    ann = Subscriber.objects.get(email="ann@example.org")
    assert (ann.first_name, ann.status, ann.source) == ("Ann", Status.SUBSCRIBED, Source.IMPORT)
    assert set(ann.groups.values_list("name", flat=True)) == {"Clients", "Salon 2026"}
    existing.refresh_from_db()
    assert (existing.status, existing.first_name) == (Status.UNSUBSCRIBED, "Zoé")

    result_page = admin_client.get(reverse("newsletter_import:job", args=[job.pk])).content.decode()
    rejects_url = reverse("newsletter_import:rejects", args=[job.pk])
    assert "Import finished" in result_page and rejects_url in result_page
    download = admin_client.get(rejects_url)
    assert download["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert rows == [["line", "email", "reason"], ["3", "not-an-address", "Enter a valid email address."]]


def test_mapping_without_email_column_is_refused(admin_client):
    upload(admin_client)
    job = ImportJob.objects.get()
    response = admin_client.post(
        reverse("newsletter_import:mapping", args=[job.pk]), column_post(job, **{"0": "", "1": "first_name"})
    )
    assert response.status_code == 200
    assert "map one column to “email”" in response.content.decode()
    job.refresh_from_db()
    assert job.state == ImportJob.State.UPLOADED


def test_upload_without_consent_is_refused(admin_client):
    response = admin_client.post(
        reverse("newsletter_import:upload"), {"file": SimpleUploadedFile("a.csv", CSV.encode())}
    )
    assert response.status_code == 200
    assert "Only contacts who consented may be imported." in response.content.decode()
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize(
    "content, message",
    [("", "file is empty."), ("\x00\x01binary\x00" * 20, "binary data")],
    ids=["empty", "binary"],
)
def test_unreadable_upload_shows_the_error_and_stores_nothing(admin_client, content, message):
    response = upload(admin_client, content=content)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()


def test_upload_over_the_size_limit_is_refused(admin_client, settings):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "IMPORT_MAX_UPLOAD_BYTES": 50}
    response = upload(admin_client)
    assert "larger than 50\xa0bytes" in response.content.decode()
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize(
    "limit, text", [(200 * 1024 * 1024, "200\xa0MB"), (1536 * 1024, "1.5\xa0MB"), (3 * 1024**3, "3\xa0GB")]
)
def test_upload_page_states_the_size_limit_as_people_write_it(admin_client, settings, limit, text):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "IMPORT_MAX_UPLOAD_BYTES": limit}
    page = admin_client.get(reverse("newsletter_import:upload")).content.decode()
    assert f"of at most {text}." in page


@pytest.fixture
def editor_client(client, django_user_model):
    user = django_user_model.objects.create_user(username="editor", password="pw")
    user.user_permissions.add(Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin"))
    client.force_login(user)
    return client


def test_user_without_add_subscriber_permission_is_denied(editor_client):
    # Wagtail turns PermissionDenied into a redirect to the dashboard with an error message.
    home = reverse("wagtailadmin_home")
    response = editor_client.get(reverse("newsletter_import:upload"))
    assert (response.status_code, response.url) == (302, home)
    response = upload(editor_client)
    assert (response.status_code, response.url) == (302, home)
    assert not ImportJob.objects.exists()


def test_user_with_add_subscriber_permission_may_import(editor_client, django_user_model):
    user = django_user_model.objects.get(username="editor")
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="wagtail_newsletter", codename="add_subscriber")
    )
    assert editor_client.get(reverse("newsletter_import:upload")).status_code == 200


def test_import_is_in_the_menu_for_managers(admin_client):
    assert reverse("newsletter_import:upload") in admin_client.get(reverse("wagtailadmin_home")).content.decode()


def test_import_is_not_in_the_menu_without_permission(editor_client):
    assert reverse("newsletter_import:upload") not in editor_client.get(reverse("wagtailadmin_home")).content.decode()
