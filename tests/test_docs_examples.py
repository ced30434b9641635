"""Every code block of docs/developers/*.md fenced as ```python run is executed: the blocks of one page in order, in
one namespace, against a fresh test database (SQLite and PostgreSQL), with a published newsletter page as ``page``,
django-q2 running tasks inline and Django's SMTP backend pointed at a real SMTP server (aiosmtpd)."""

import pathlib
import re
import textwrap

import pytest

from .compose_editor_fixtures import make_newsletter

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs" / "developers"
# ```python run … ``` (the info string's first word is the language, so renderers still highlight it as Python).
RUNNABLE = re.compile(r"^```python run[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def runnable_blocks(path):
    """[(line number, code)] of the page's runnable blocks."""
    text = path.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, match.start()) + 1, textwrap.dedent(match.group(1))) for match in RUNNABLE.finditer(text)
    ]


PAGES = sorted(path for path in DOCS.glob("*.md") if runnable_blocks(path))


def test_the_python_api_page_has_an_example_per_function():
    from wagtail_newsletter import api

    code = "\n".join(block for _line, block in runnable_blocks(DOCS / "python-api.md"))
    functions = [name for name in api.__all__ if callable(getattr(api, name)) and name[0].islower()]
    assert functions and [name for name in functions if f"api.{name}(" not in code] == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", PAGES, ids=[path.name for path in PAGES])
def test_runnable_examples(path, archive, smtp_server):
    namespace = {"__name__": f"docs_example_{path.stem}", "page": make_newsletter(archive)}
    for line, code in runnable_blocks(path):
        try:
            # Blank lines first: a traceback's line numbers are the page's.
            exec(compile("\n" * line + code, str(path), "exec"), namespace)  # noqa: S102
        except Exception as error:
            raise AssertionError(f"{path.name}, the block at line {line} failed: {error!r}") from error
