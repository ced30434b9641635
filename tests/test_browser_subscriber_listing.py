"""In Chromium at a narrow window: a long address in the subscriber listing breaks between its local part and its
domain, never inside the local part; its column takes at most half the window and nothing overflows (a part too long
for that ends with an ellipsis; the whole address is the link's title)."""

import pytest

from wagtail_newsletter.audience.models import Status, Subscriber

from .live_site import BROWSER_TEST, log_in, screenshot

pytestmark = BROWSER_TEST

LOCAL = "alexandra.konstantinopoulou-papadimitriou"
ADDRESS = f"{LOCAL}@communications.very-long-department.example-university.edu"

# Lines the local part is drawn on, the address cell's width and how much wider its content is.
MEASURE = """([cell, local]) => {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    const nodes = [];
    while (walker.nextNode()) nodes.push(walker.currentNode);
    const text = nodes.map((node) => node.textContent).join("");
    let start = text.indexOf(local), end = start + local.length, offset = 0;
    const range = document.createRange();
    for (const node of nodes) {
        const length = node.textContent.length;
        if (start >= offset && start <= offset + length) range.setStart(node, start - offset);
        if (end >= offset && end <= offset + length) { range.setEnd(node, end - offset); break; }
        offset += length;
    }
    const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
    return {localLines: tops.size, overflow: cell.scrollWidth - cell.clientWidth, width: cell.clientWidth,
            pageOverflow: document.documentElement.scrollWidth - document.documentElement.clientWidth};
}"""


@pytest.fixture
def long_address(live_site):
    Subscriber.objects.create(email=ADDRESS, first_name="Alexandra", status=Status.SUBSCRIBED)


@pytest.mark.parametrize("width", [375, 800])
def test_a_long_address_wraps_between_its_parts_and_never_overflows(live_site, long_address, browser, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.set_default_timeout(15_000)
    log_in(page, live_site)
    page.goto(f"{live_site}/admin/snippets/wagtail_newsletter/subscriber/?q=konstantinopoulou")
    cell = page.locator("td.title", has_text="konstantinopoulou").first
    screenshot(page, f"subscriber-listing-{width}")
    measured = page.evaluate(MEASURE, [cell.element_handle(), LOCAL])
    assert measured["localLines"] == 1, f"the local part breaks over {measured['localLines']} lines"
    assert measured["overflow"] <= 0 and measured["pageOverflow"] <= 0, measured
    assert measured["width"] <= width / 2 + 40, f"the address column pushes the others away: {measured}"
    assert cell.locator(f'[title="{ADDRESS}"]').count() == 1
