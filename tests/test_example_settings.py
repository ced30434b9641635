"""The example site's settings, read in a fresh process as the site reads them: the task cluster, the base URL that
every URL the demo writes comes from (the one scripts/demo recorded, for commands run from another shell), and the
checklist of its own newsletter (no "send anyway" for its http://127.0.0.1 links)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from wagtail_newsletter.compose.checks import preflight
from wagtail_newsletter.compose.compiled import compile_page
from wagtail_newsletter.compose.models import NewsletterPage
from wagtail_newsletter.conf import DEFAULTS as NEWSLETTER_DEFAULTS
from wagtail_newsletter.send.models import Campaign

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_setup_demo_points_the_site_at_the_base_url(settings):
    from wagtail.models import Site

    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "BASE_URL": "http://127.0.0.1:8000"}
    call_command("setup_demo", stdout=open(os.devnull, "w"))
    site = Site.objects.get(is_default_site=True)
    assert (site.hostname, site.port) == ("127.0.0.1", 8000)
    assert site.root_url == "http://127.0.0.1:8000"


def example_settings(**env):
    """Q_CLUSTER, EMAIL_TIMEOUT, WAGTAIL_NEWSLETTER and WAGTAILADMIN_BASE_URL of the example site's own settings, in
    a fresh process (``env`` added to the environment; a None value removes that variable)."""
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.Q_CLUSTER, s.EMAIL_TIMEOUT, s.WAGTAIL_NEWSLETTER, s.WAGTAILADMIN_BASE_URL]))"
    )
    path = os.pathsep.join([str(ROOT), str(ROOT / "example_site")])
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "example.settings", "PYTHONPATH": path, **env}
    env = {name: value for name, value in env.items() if value is not None and name != "Q_SYNC"}
    output = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=True, text=True).stdout
    return json.loads(output)


def test_example_q_cluster_lets_a_send_task_finish_and_never_runs_it_twice():
    q_cluster, email_timeout, newsletter, _admin_url = example_settings()
    send = {**NEWSLETTER_DEFAULTS, **newsletter}
    longest_send_task = send["SEND_TASK_SECONDS"] + send["SEND_LEASE_SECONDS"] / 2 + email_timeout
    assert q_cluster["timeout"] > longest_send_task and q_cluster["retry"] > q_cluster["timeout"]
    assert q_cluster["orm"] == "default" and not q_cluster.get("sync")


def test_example_q_cluster_can_be_changed_from_the_environment():
    q_cluster, _timeout, _newsletter, _admin_url = example_settings(
        Q_CLUSTER_JSON='{"workers": 4, "redis": "redis://127.0.0.1:6379/0"}'
    )
    assert q_cluster["workers"] == 4 and q_cluster["redis"] == "redis://127.0.0.1:6379/0" and "orm" not in q_cluster


def test_commands_in_another_shell_use_the_base_url_scripts_demo_recorded(tmp_path):
    # scripts/demo (PORT=8300) records its base URL; demo_activity run later in a plain shell must use it.
    (tmp_path / "base_url").write_text("http://127.0.0.1:8300\n")
    *_, newsletter, admin_url = example_settings(EXAMPLE_VAR_DIR=str(tmp_path), NEWSLETTER_BASE_URL=None)
    assert newsletter["BASE_URL"] == admin_url == "http://127.0.0.1:8300"
    *_, newsletter, admin_url = example_settings(EXAMPLE_VAR_DIR=str(tmp_path), NEWSLETTER_BASE_URL="https://n.example")
    assert newsletter["BASE_URL"] == admin_url == "https://n.example"


@pytest.mark.django_db
def test_demo_activity_writes_no_url_but_the_base_urls_and_the_sample_content_links(settings):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "BASE_URL": "http://127.0.0.1:8300"}
    call_command("setup_demo", stdout=open(os.devnull, "w"))
    call_command("demo_activity", stdout=open(os.devnull, "w"))
    compiled = json.dumps(Campaign.objects.get(name__endswith="(sample report)").compiled)
    urls = set(re.findall(r"https?://[^\"'\\\s<>)]+", compiled)) - {"http://www.w3.org/1999/xhtml"}
    outside = {url for url in urls if not url.startswith("http://127.0.0.1:8300")}
    assert outside == {"https://wagtail.org/", "https://mastodon.social/@wagtail"}
    assert any("/media/images/" in url for url in urls)  # the banner is among them


@pytest.mark.django_db
def test_the_demo_welcome_issue_needs_no_send_anyway_on_the_example_site(settings):
    *_, example_newsletter, _admin_url = example_settings(NEWSLETTER_BASE_URL=None)
    settings.WAGTAIL_NEWSLETTER = example_newsletter  # where the demo runs: http://127.0.0.1:8000
    call_command("setup_demo", stdout=open(os.devnull, "w"))
    newsletter = NewsletterPage.objects.get(title="Welcome issue")
    assert [(check.code, check.message) for check in preflight(compile_page(newsletter))] == []
