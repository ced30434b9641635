"""In a real browser: the import wizard's result lists the rejected rows as a table (row number, value, reason)
with a download button under it whose label can be read."""

import pytest

from wagtail_newsletter.audience.import_job import ImportJob

from .live_site import BROWSER_TEST, log_in, screenshot

pytestmark = BROWSER_TEST

REJECTS = (
    "line,email,reason\r\n"
    "3,not-an-address,Enter a valid email address.\r\n"
    '7,"ann@,example.org",Enter a valid email address.\r\n'
)


# Where the button's text is drawn, and whether that is inside the button and in front (not under its icon).
LABEL_BOX = """(link) => {
    const text = [...link.childNodes].find((node) => node.nodeType === Node.TEXT_NODE && node.textContent.trim());
    const range = document.createRange();
    range.selectNodeContents(text);
    const box = range.getBoundingClientRect(), button = link.getBoundingClientRect();
    const front = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
    return {
        width: box.width,
        inside: box.left >= button.left && box.right <= button.right && box.top >= button.top
            && box.bottom <= button.bottom && front === link,
    };
}"""


@pytest.fixture
def finished_job(live_site):
    job = ImportJob.objects.create(
        original_name="people.csv", state=ImportJob.State.DONE, rows_read=9, created=7, rejected=2, rejects_csv=REJECTS
    )
    return job.pk


def test_rejected_rows_are_a_table_with_a_labelled_download(live_site, finished_job, browser):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(15_000)
    log_in(page, live_site)
    page.goto(f"{live_site}/admin/newsletter_import/{finished_job}/")
    screenshot(page, "import-rejects")
    table = page.locator("table[data-rejected-rows]")
    expect(table).to_be_visible()
    cells = [row.locator("td, th").all_inner_texts() for row in table.locator("tbody tr").all()]
    assert cells == [
        ["3", "not-an-address", "Enter a valid email address."],
        ["7", "ann@,example.org", "Enter a valid email address."],
    ]
    assert "line,email,reason" not in page.inner_text("main")  # no raw CSV
    download = page.get_by_role("link", name="Download rejected rows (CSV)")
    expect(download).to_be_visible()
    label = download.evaluate(LABEL_BOX)
    assert label["width"] > 100 and label["inside"], f"the button's label is not drawn inside it: {label}"
    assert download.bounding_box()["y"] > table.bounding_box()["y"] + table.bounding_box()["height"]
