"""The public pages in Chromium as people meet them: on a 360 px phone, with the
keyboard, and after a form sent back with mistakes."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser import SHOTS
from tests.factories import ContestFactory
from tests.public_site import public_site

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}
# The pages people open on a phone, by their name in public_site().
PHONE_PAGES = ("home", "contest", "results", "visit")


WIDER_THAN_THE_PAGE = """() => {
  // Elements that reach past the viewport, and boxes that scroll sideways.
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    const scrolls = !["visible", "hidden"].includes(getComputedStyle(el).overflowX);
    if (box.width && box.right > width + 0.5) wide.push(el.tagName + "." + el.className);
    if (scrolls && el.scrollWidth > el.clientWidth + 1) wide.push("scrolls: " + el.tagName);
  }
  return wide.slice(0, 10);
}"""


def test_no_public_page_is_wider_than_a_360_px_phone(live_server, browser):
    """Long hashes, seeds, handles and place labels wrap; nothing scrolls sideways."""
    urls = public_site()
    page = browser.new_page(viewport=PHONE)
    for name in PHONE_PAGES:
        path = urls[name]
        page.goto(live_server.url + path)
        page.screenshot(path=SHOTS / f"phone-{name}.png", full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (name, width, page.evaluate(WIDER_THAN_THE_PAGE))
        assert page.evaluate(WIDER_THAN_THE_PAGE) == [], name


def expect_error_summary_in_sight(page):
    """The error summary has the focus, at the top of the screen."""
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary).to_have_attribute("role", "alert")
    box = summary.bounding_box()
    assert box is not None and -1 < box["y"] < 50, box
    return summary


def test_entry_form_sent_back_opens_on_its_error_summary(live_server, browser):
    """On a phone the first mistake is far down the page: the page reopens at the
    form, on a summary that names each mistake and leads to its field."""
    contest = ContestFactory()
    # Without Bootstrap's smooth scrolling, the page is where it lands at once.
    page = browser.new_page(viewport=PHONE, reduced_motion="reduce")
    page.goto(live_server.url + contest.get_absolute_url())
    form = page.locator("#entry-form")
    form.locator('[name="email"]').fill("ada@example.org")
    form.locator('[name="twitter_handle"]').fill("not a handle!")
    form.locator("[type=submit]").click()
    page.wait_for_load_state()

    assert page.url.endswith("#entry-form")
    summary = expect_error_summary_in_sight(page)
    page.screenshot(path=SHOTS / "phone-entry-error-summary.png")
    links = summary.locator("a")
    targets = links.evaluate_all("links => links.map(link => link.getAttribute('href'))")
    assert targets[:3] == ["#id_name", "#id_twitter_handle", "#id_country"]
    text = summary.inner_text()
    assert "Your name: This field is required." in text
    assert "Accept the rules to enter the contest." in text

    links.nth(1).click()
    expect(page.locator("#id_twitter_handle")).to_be_focused()
    expect(page.locator('label[for="id_twitter_handle"]')).to_be_in_viewport()


def test_ticket_check_sent_back_opens_on_its_error_summary(live_server, browser):
    urls = public_site()
    page = browser.new_page(viewport=PHONE, reduced_motion="reduce")
    page.goto(live_server.url + urls["results"])
    page.fill("#id_ticket", "   ")
    page.click("#ticket-check [type=submit]")
    page.wait_for_load_state()

    assert page.url.endswith("#ticket-check")
    summary = expect_error_summary_in_sight(page)
    assert summary.locator("a").get_attribute("href") == "#id_ticket"
    page.screenshot(path=SHOTS / "phone-ticket-error-summary.png")


FOCUS_RING = """() => {
  // The focused element's outline, and the colours it is drawn against: the
  // background around the element and the element's own (both composited over white).
  const el = document.activeElement, style = getComputedStyle(el);
  const rgba = (css) => {
    const inner = css.match(/rgba?\\(([^)]+)\\)/)[1];
    const parts = inner.split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return parts.length === 3 ? [...parts, 1] : parts;
  };
  const background = (node) => {
    const layers = [];
    for (; node; node = node.parentElement) {
      const colour = rgba(getComputedStyle(node).backgroundColor);
      if (colour[3] > 0) layers.push(colour);
      if (colour[3] >= 1) break;
    }
    let result = [255, 255, 255];
    for (const [r, g, b, a] of layers.reverse()) {
      result = result.map((value, i) => [r, g, b][i] * a + value * (1 - a));
    }
    return result;
  };
  return {
    element: el.tagName + "#" + el.id + "." + el.className,
    style: style.outlineStyle,
    width: parseFloat(style.outlineWidth),
    offset: parseFloat(style.outlineOffset),
    ring: rgba(style.outlineColor),
    around: background(el.parentElement),
    inside: background(el),
  };
}"""


def contrast(first, second) -> float:
    """WCAG 2.2's contrast ratio of two sRGB colours (0-255 channels)."""

    def luminance(rgb) -> float:
        channels = [c / 255 for c in rgb[:3]]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_contrast_follows_wcag():
    assert contrast((0, 0, 0), (255, 255, 255)) == pytest.approx(21)
    assert contrast((118, 118, 118), (255, 255, 255)) == pytest.approx(4.54, abs=0.01)


def test_every_focus_ring_stands_out_3_to_1_from_its_surroundings(live_server, browser):
    """Tabbing through the pages, each link, button and form control shows a solid
    ring of 2 px or more whose colour has 3:1 contrast or more (WCAG 2.2, 1.4.11)
    against the colours beside it: the background around the element, and the
    element itself when the ring touches it."""
    urls = public_site()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    seen = set()
    for path in (urls["contest"], urls["results"], urls["live_draw"]):
        page.goto(live_server.url + path)
        for _ in range(40):
            page.keyboard.press("Tab")
            ring = page.evaluate(FOCUS_RING)
            if ring["element"].startswith("BODY") or ring["element"] in seen:
                continue
            seen.add(ring["element"])
            assert ring["style"] == "solid" and ring["width"] >= 2, ring
            beside = [ring["around"]] + ([ring["inside"]] if ring["offset"] < 1 else [])
            for colour in beside:
                assert contrast(ring["ring"], colour) >= 3, (path, ring)
    kinds = {element.split("#")[0] for element in seen}
    assert {"A", "BUTTON", "INPUT", "SELECT", "TEXTAREA"} <= kinds, seen


def test_the_language_switcher_changes_language_only_when_asked(live_server, browser):
    """Arrowing through the languages does not leave the page; Enter, the Go
    button or a language picked with the mouse does."""
    ContestFactory()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live_server.url + reverse("home"))
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    switcher = page.locator("#language-select")
    switcher.focus()
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(1000)
    assert switcher.input_value() == "fr"
    assert page.locator("html").get_attribute("lang") == "en"
    assert navigations == []
    expect(page.locator("#language-switcher [type=submit]")).to_be_visible()

    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    with page.expect_navigation():
        switcher.select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    switcher.focus()
    page.keyboard.press("ArrowDown")
    page.locator("#language-switcher [type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
