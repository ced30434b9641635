"""``manage.py newsletter_import``: groups, mapping options, dry run, rejects file, last line."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command

from wagtail_newsletter.models import Group, Subscriber

pytestmark = pytest.mark.django_db


def run_command(path, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command("newsletter_import", str(path), *args, "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("E-mail;Prénom;Notes\na@example.org;Ann;x\nbad;B;y\nb@example.org;Bob;z\n", encoding="utf-8")
    return path


def test_last_line_is_the_summary(csv_file):
    out, _err = run_command(csv_file, "--group", "Clients")
    assert out.strip().splitlines()[-1] == "created=2 updated=0 rejected=1"


def test_missing_group_is_created_and_announced(csv_file):
    _out, err = run_command(csv_file, "--group", "Clients", "--group", "VIP")
    assert "Created group “Clients”" in err
    assert set(Group.objects.values_list("name", flat=True)) == {"Clients", "VIP"}
    assert Subscriber.objects.get(email="a@example.org").groups.count() == 2


def test_mapping_option_overrides_the_guess(csv_file):
    run_command(csv_file, "--mapping", "notes=last_name", "--mapping", "Prénom=ignore")
    subscriber = Subscriber.objects.get(email="a@example.org")
    assert (subscriber.first_name, subscriber.last_name) == ("", "x")


def test_bad_mapping_target_is_a_command_error_and_writes_nothing(csv_file):
    with pytest.raises(CommandError, match="“shoe_size” is not a field"):
        run_command(csv_file, "--mapping", "Notes=shoe_size")
    assert not Subscriber.all_objects.exists()


def test_mapping_without_equals_sign_is_a_command_error(csv_file):
    with pytest.raises(CommandError, match="COLUMN=FIELD"):
        run_command(csv_file, "--mapping", "Notes")


def test_dry_run_writes_nothing(csv_file):
    out, err = run_command(csv_file, "--group", "New", "--dry-run")
    assert out.strip().splitlines()[-1] == "created=2 updated=0 rejected=1"
    assert "nothing was written" in err
    assert not Subscriber.objects.exists() and not Group.objects.exists()


def test_rejects_file_lists_line_email_and_reason(csv_file, tmp_path):
    rejects = tmp_path / "rejects.csv"
    run_command(csv_file, "--rejects", str(rejects))
    rows = list(csv.reader(rejects.open(encoding="utf-8")))
    assert rows[0] == ["line", "email", "reason"]
    assert rows[1][:2] == ["3", "bad"]


def test_unreadable_file_is_a_command_error(tmp_path):
    path = tmp_path / "junk.csv"
    path.write_bytes(b"\x00\x01\x02junk" * 100)
    with pytest.raises(CommandError, match="binary"):
        run_command(path)
    assert not Subscriber.all_objects.exists()


def test_progress_bar_goes_to_stderr(csv_file):
    out, err = io.StringIO(), io.StringIO()
    call_command("newsletter_import", str(csv_file), stdout=out, stderr=err)
    assert "100.0%" in err.getvalue()
    assert out.getvalue().strip() == "created=2 updated=0 rejected=1"
