"""docs/installation.md, walked: build the wheel, make a project with ``wagtail start``, install the wheel into it,
apply every block the page marks with ``<!-- walk: … -->`` exactly as written, migrate, start a real ``qcluster``,
then a reader signs up, confirms and receives a newsletter through a real SMTP server.

The wheel goes into a directory of its own put first on PYTHONPATH (the venv supplies the dependencies), so the
project imports the built package, never this source tree. The test adds two files to the documented project:
``mysite/settings/local.py`` (which ``dev.py`` imports), with the test's SMTP server in place of ``smtp.example.org``
and, when the suite runs on PostgreSQL, a fresh PostgreSQL database in place of the project's SQLite file; and
tests/installed_site_actions.py, what the editor and the reader do there.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from .live_site import stop_process
from .send_cluster import wait_for

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "installation.md"
PACKAGE = "wagtail_newsletter"
# A marker, then the fenced block it applies to: ``<!-- walk: ACTION [ARGUMENTS] -->``.
STEP = re.compile(r"<!-- walk: (?P<action>[\w-]+)(?: (?P<arguments>[^\n]*?))? -->\n```\w*\n(?P<code>.*?)```", re.S)
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", ".tox", "build", "dist", "*.egg-info", "__pycache__", "*.pyc",
                                    "test-artifacts", "var", "node_modules")  # fmt: skip
CONFIRM_LINK = re.compile(r"https://www\.example\.org(/newsletter/confirm/[^\s\"'<>]+)")

needs_source = pytest.mark.skipif(
    not (ROOT / PACKAGE).is_dir(), reason="no source tree to build (the suite runs against an installed wheel)"
)


def run(command, cwd, env=None, timeout=300):
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    output = f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert done.returncode == 0, f"{shlex.join(map(str, command))} failed:\n{output}"
    return done.stdout


def documented_steps():
    return [(m["action"], m["arguments"] or "", m["code"]) for m in STEP.finditer(DOC.read_text())]


def apply_step(project, action, arguments, code, env):
    """Do to ``project`` what one marked block of the page says; returns what it touched."""
    if action == "run":
        for line in code.splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                command = shlex.split(line.split(" #")[0])
                assert command[0] == "python", f"a walked command runs python: {line}"
                run([sys.executable, *command[1:]], cwd=project, env=env)
        return "run"
    path, _, anchor = arguments.partition(": ")
    target = project / path
    assert target.exists(), f"{path}, named by the page, is not in a `wagtail start` project"
    text = target.read_text()
    if action == "append":
        text += "\n\n" + code
    elif action == "replace":
        text = code
    elif action == "delete-line":
        lines = text.splitlines(keepends=True)
        assert any(line.strip() == code.strip() for line in lines), f"{path} has no line {code.strip()!r}"
        text = "".join(line for line in lines if line.strip() != code.strip())
    elif action == "insert-before":
        lines = text.splitlines(keepends=True)
        at = next((i for i, line in enumerate(lines) if line.strip() == anchor.strip()), None)
        assert at is not None, f"{path} has no line {anchor!r}"
        text = "".join(lines[:at]) + code + "".join(lines[at:])
    else:
        pytest.fail(f"unknown walk action {action!r} in {DOC.name}")
    target.write_text(text)
    return path


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory):
    """The package built as a wheel from a clean copy of the source tree (``source``), installed alone into a
    directory (``site_packages``)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)  # no stale egg-info: the manifest alone decides
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", work / "dist", source], cwd=work)
    (wheel,) = (work / "dist").glob("*.whl")
    target = work / "site-packages"
    run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", target, wheel], cwd=work)
    return SimpleNamespace(source=source, site_packages=target)


@pytest.fixture
def project_database():
    """local.py's database lines: none (the project's own SQLite file), or a fresh PostgreSQL database when the
    suite runs on PostgreSQL."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield ""
        return
    import psycopg

    name = f"wn_walk_{os.getpid()}"
    server = url.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name}")
        connection.execute(f"CREATE DATABASE {name}")
    walked_url = urlsplit(url)._replace(path=f"/{name}").geturl()
    yield f"import dj_database_url\nDATABASES = {{'default': dj_database_url.parse({walked_url!r})}}\n"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.integration
@needs_source
def test_the_wheel_carries_every_file_of_the_package(installed_wheel):
    def files(top):
        return {
            path.relative_to(top).as_posix()
            for path in top.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
        }

    missing = files(installed_wheel.source / PACKAGE) - files(installed_wheel.site_packages / PACKAGE)
    assert not missing, f"not in the wheel (MANIFEST.in / package data): {sorted(missing)}"


@pytest.mark.integration
@needs_source
def test_installation_page_walked_in_a_fresh_project_delivers_a_newsletter(
    installed_wheel, project_database, tmp_path, smtp_server
):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "WN_", "TEST_"))}
    env.update(PYTHONPATH=str(installed_wheel.site_packages), DJANGO_SETTINGS_MODULE="mysite.settings.dev")
    run([Path(sys.executable).with_name("wagtail"), "start", "mysite"], cwd=tmp_path, env=env)
    project = tmp_path / "mysite"

    (project / "mysite/settings/local.py").write_text(
        f"EMAIL_HOST = '127.0.0.1'\nEMAIL_PORT = {smtp_server.port}\nEMAIL_USE_TLS = False\n{project_database}"
    )
    touched = [apply_step(project, *step, env=env) for step in documented_steps()]
    assert {"mysite/settings/base.py", "mysite/settings/dev.py", "mysite/urls.py", "home/models.py",
            "home/templates/home/home_page.html", "run"} <= set(touched)  # fmt: skip
    shutil.copy(Path(__file__).with_name("installed_site_actions.py"), project)

    def act(*arguments):
        return json.loads(run([sys.executable, "installed_site_actions.py", *arguments], cwd=project, env=env))

    log = open(tmp_path / "qcluster.log", "wb")
    cluster = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=project, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        signup = act("signup")
        assert Path(signup["package"]).is_relative_to(installed_wheel.site_packages), "the wheel must be imported"
        assert signup["database"] == ("postgresql" if project_database else "sqlite")
        assert signup["block_offered"], "the editor's body field offers no subscription form block"
        assert signup["archive_created"], "the newsletter archive could not be added under the home page"
        assert signup["form_shown"], "the home page does not show the subscription form"
        assert (signup["signup_answer"], signup["status"]) == (303, "pending")

        confirmation = smtp_server.wait_for(1, timeout=60)
        assert confirmation, f"no confirmation mail reached the SMTP server:\n{qcluster_log(tmp_path)}"
        assert confirmation[0]["to"] == ["reader@example.net"]
        link = CONFIRM_LINK.search(confirmation[0]["message"].get_body(("plain",)).get_content())
        assert act("confirm", link.group(1)) == {"confirm_answer": 200, "status": "subscribed"}

        sent = act("send")
        assert sent == {"problems": [], "status": "sending"}
        assert wait_for(lambda: len(smtp_server.messages) >= 2, timeout=60), qcluster_log(tmp_path)
    finally:
        stop_process(cluster, timeout=20)
        log.close()
    newsletter = smtp_server.messages[1]
    assert newsletter["to"] == ["reader@example.net"]
    assert newsletter["message"]["Subject"] == "Our first issue"
    assert newsletter["message"]["From"] == "Example news <news@example.org>"  # DEFAULT_FROM_EMAIL of the page
    assert newsletter["message"]["List-Unsubscribe"].startswith("<https://www.example.org/newsletter/u/")
    assert "Hello reader" in newsletter["message"].get_body(("html",)).get_content()


def qcluster_log(directory):
    return (directory / "qcluster.log").read_text(errors="replace")[-4000:]


def test_a_newsletter_gets_the_site_language_as_one_it_offers(db):
    """``wagtail start`` sets LANGUAGE_CODE "en-us", which Django's default LANGUAGES offers as "en"."""
    from django.conf import global_settings
    from django.test import override_settings
    from wagtail.models import Site

    from wagtail_newsletter.compose.models import NewsletterIndexPage, NewsletterPage

    with override_settings(LANGUAGE_CODE="en-us", LANGUAGES=global_settings.LANGUAGES):
        archive = Site.objects.get(is_default_site=True).root_page.add_child(instance=NewsletterIndexPage(title="News"))
        page = archive.add_child(instance=NewsletterPage(title="First", subject="First"))  # full_clean: a valid choice
    assert page.language == "en"
