"""The checkout dialog as a shopper meets it, from the keyboard: where focus is at each step, the
receipt after paying, every error a shopper can hit (in shopper wording, with a way forward),
axe-core on each state, and no horizontal scrolling at 390x844 or at desktop size.

The shop's page is on another site than the platform (`localhost` against the platform's
`127.0.0.1`), as a real shop is, so the frame is cross-origin; the page itself is served by
Playwright. Headless Chromium against a real gunicorn; vouchers and sessions are committed.
"""

from __future__ import annotations

import datetime
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.test_checkout import balance, demo, payment_of, voucher  # noqa: F401
from tests.helpers import committed

pytestmark = pytest.mark.django_db

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
AXE = Axe()
DEVELOPER_WORDS = re.compile(r"API key|publishable|Developers|origin|allowed|data-|_not_|_token")
PAY_BUTTON = "Pay €24.90 with a voucher"

# Events are listened for before the widget's tag runs (it fires `ready` as it mounts).
SHOP_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>A shop</title>
<style>#events li { overflow-wrap: anywhere; }</style></head>
<body><main><h1>Your basket</h1><p><a href="#basket">Basket</a></p>
<ol id="events"></ol>
<script>
["ready", "success", "error", "cancel"].forEach(function (name) {
  document.addEventListener("superpayment:" + name, function (event) {
    var item = document.createElement("li");
    item.className = "event-" + name;
    item.textContent = name + " " + JSON.stringify(event.detail);
    document.getElementById("events").appendChild(item);
  });
});
</script>
<script src="WIDGET" data-api-key="KEY" data-amount="24.90" data-currency="EUR"
        data-order-id="ORDER"></script>
<p><a href="#after">After the button</a></p></main></body></html>"""

# The deepest focused element of the page (through the widget's shadow roots).
PAGE_FOCUS = """() => {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  if (!el) return null;
  return el.tagName.toLowerCase() + "|" + (el.getAttribute("aria-label") || el.textContent).trim();
}"""
# The dialog's frame, in the widget's shadow root.
DIALOG_IFRAME = (
    "[...document.body.children].map(e => e.shadowRoot && e.shadowRoot.querySelector('iframe'))"
    ".find(Boolean)"
)


@pytest.fixture(scope="module")
def shop_server():
    """The shop's own web server: path -> page."""
    pages: dict[str, str] = {}

    class Shop(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Shop)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], pages
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def shop_origin(live_url, demo, shop_server, django_db_blocker):  # noqa: F811 - module fixture
    """The shop's site, allowed on the demo merchant's publishable key, and that key."""
    from checkout.demo import demo_checkout_ensure

    origin = f"http://localhost:{shop_server[0]}"
    with django_db_blocker.unblock():
        key = committed(lambda: demo_checkout_ensure(merchant=demo, base_url=origin))
    return origin, key.publishable_key


def shop(page, live_url, origin: str, key: str, order: str, pages: dict[str, str]) -> None:
    """Open the shop's page (on `origin`) with a pay button for `order`."""
    path = f"/shop/{order}"
    pages[path] = (
        SHOP_PAGE.replace("WIDGET", f"{live_url}/widget.js")
        .replace("KEY", key)
        .replace("ORDER", order)
    )
    page.goto(origin + path)
    page.locator("li.event-ready").wait_for()


def order_id(request) -> str:
    return "DLG-" + re.sub(r"[^A-Za-z0-9]", "", request.node.name)[-40:]


def frame(page):
    return page.frame_locator("iframe[title^='SuperPayment']")


def frame_of(page):
    return page.locator("iframe[title^='SuperPayment']").element_handle().content_frame()


def open_dialog(page):
    """Keyboard only: focus the pay button, press Enter; the frame's code field gets focus."""
    page.get_by_role("button", name=PAY_BUTTON).focus()
    page.keyboard.press("Enter")
    page.get_by_role("dialog", name="Pay with a voucher").wait_for()
    frame(page).get_by_label("Voucher code").wait_for()
    return focus_in_frame(page, "sp-code")


def focus_in_frame(page, element_id: str):
    """Wait until the frame has the keyboard focus, on `element_id`."""
    inner = frame_of(page)
    inner.wait_for_function(
        "(id) => document.hasFocus() && document.activeElement.id === id", arg=element_id
    )
    return inner


def focus_on_page(page, expected: str) -> None:
    page.wait_for_function(f"() => ({PAGE_FOCUS})() === {expected!r}")


def type_code(page, code: str) -> None:
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def said(page):
    """The frame's polite live region (what a screen reader announces)."""
    return expect(frame(page).locator("#sp-live"))


def axe_problems(page) -> list[str]:
    """axe-core's critical and serious violations on the page (the dialog) and in the frame."""
    found = []
    shown = page.locator("iframe[title^='SuperPayment']").is_visible()
    for target in (page, frame_of(page)) if shown else (page,):
        options = {"iframes": False}
        for violation in AXE.run(target, options=options).response["violations"]:
            if violation["impact"] in {"critical", "serious"}:
                nodes = [node["target"] for node in violation["nodes"]][:3]
                found.append(f"{violation['id']} ({violation['impact']}) at {nodes}")
    return found


def widths(page) -> list[str]:
    """What scrolls sideways at this size: the page, the dialog, the frame's document."""
    too_wide = []
    page_w = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if page_w[0] > page_w[1]:
        too_wide.append(f"page {page_w}")
    dialog_w = page.evaluate(
        f"() => {{ const d = {DIALOG_IFRAME.replace('iframe', 'dialog')};"
        " return d ? [d.scrollWidth, d.clientWidth] : [0, 0]; }"
    )
    if dialog_w[0] > dialog_w[1]:
        too_wide.append(f"dialog {dialog_w}")
    inner = frame_of(page)
    if inner and page.locator("iframe[title^='SuperPayment']").is_visible():
        frame_w = inner.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if frame_w[0] > frame_w[1]:
            too_wide.append(f"frame {frame_w}")
    return too_wide


def check_state(page) -> None:
    """axe-core finds nothing critical or serious, and nothing scrolls sideways, at desktop size
    and on a phone."""
    problems = []
    for size in (DESKTOP, PHONE):
        page.set_viewport_size(size)
        problems += [f"{size['width']}px: {p}" for p in axe_problems(page) + widths(page)]
    page.set_viewport_size(DESKTOP)
    assert problems == [], problems


def session_of(page) -> str:
    src = page.locator("iframe[title^='SuperPayment']").get_attribute("src")
    return re.search(r"/(cs_[0-9a-f]+)/", src).group(1)


def test_receipt_after_paying_with_two_vouchers_from_the_keyboard(
    page,
    live_url,
    demo,  # noqa: F811
    shop_origin,
    shop_server,
    request,
):
    first, second = voucher(demo, 1_500), voucher(demo, 2_000)
    order = order_id(request)
    shop(page, live_url, *shop_origin, order, shop_server[1])
    button = page.get_by_role("button", name=PAY_BUTTON)
    colour_before = button.evaluate("b => getComputedStyle(b).backgroundColor")

    open_dialog(page)
    check_state(page)
    focus_in_frame(page, "sp-code")

    type_code(page, first.code)
    frame(page).get_by_text("Still to pay: €9.90. Add another voucher.", exact=True).wait_for()
    # Not covered yet: focus stays on the code field for the next voucher, and it is said.
    focus_in_frame(page, "sp-code")
    said(page).to_have_text(
        f"Voucher ••••{first.code[-4:]} added. Still to pay: €9.90. Add another voucher."
    )

    type_code(page, second.code)
    # Covered: focus moves on to paying.
    focus_in_frame(page, "sp-pay")
    said(page).to_contain_text("Your vouchers cover the full amount.")
    check_state(page)

    page.keyboard.press("Enter")
    receipt = frame(page).locator("#sp-receipt")
    focus_in_frame(page, "sp-receipt-title")
    payment = payment_of(demo, order)
    text = receipt.inner_text()
    assert "Payment complete" in text
    assert "You paid €24.90 to Demo Shop." in text
    assert order in text
    assert payment.public_id in text
    vouchers = frame(page).locator("#sp-receipt-vouchers li").all_inner_texts()
    assert [re.sub(r"\s+", " ", v) for v in vouchers] == [
        f"Voucher ••••{first.code[-4:]}: paid €15.00 €0.00 left on it",
        f"Voucher ••••{second.code[-4:]}: paid €9.90 €10.10 left on it",
    ]
    assert (balance(demo, first), balance(demo, second)) == (0, 1_010)
    assert frame(page).locator("#sp-title").inner_text().startswith("Paid")
    said(page).to_contain_text("Payment complete")
    assert page.locator("li.event-success").count() == 1
    check_state(page)

    # The shop's button is paid: it says so, looks different and is disabled, already now.
    paid = page.get_by_role("button", name="Paid ✓")
    assert paid.get_attribute("aria-disabled") == "true"
    assert paid.is_disabled()
    assert paid.evaluate("b => getComputedStyle(b).backgroundColor") != colour_before

    page.keyboard.press("Tab")
    focus_in_frame(page, "sp-done-button")
    page.keyboard.press("Enter")
    page.get_by_role("dialog").wait_for(state="detached")
    focus_on_page(page, "button|Paid ✓")
    # Closing the receipt is no cancel, and the paid button opens nothing.
    assert page.locator("li.event-cancel").count() == 0
    page.keyboard.press("Enter")
    paid.click(force=True)
    assert page.get_by_role("dialog").count() == 0


def test_focus_stays_in_the_dialog_and_escape_returns_it_to_the_button(
    page,
    live_url,
    demo,  # noqa: F811
    shop_origin,
    shop_server,
    request,
):
    order = order_id(request)
    shop(page, live_url, *shop_origin, order, shop_server[1])
    open_dialog(page)

    # Forward through every stop and round again: never the shop's page, never <body>.
    for stop in ["sp-add-button", "sp-remember", "sp-cancel", "Close", "sp-code", "sp-add-button"]:
        page.keyboard.press("Tab")
        if stop == "Close":
            focus_on_page(page, "button|Close")
        else:
            focus_in_frame(page, stop)

    # Backwards: from the code field to the close button, then round to the frame's last stop.
    frame_of(page).focus("#sp-code")
    page.keyboard.press("Shift+Tab")
    focus_on_page(page, "button|Close")
    page.keyboard.press("Shift+Tab")
    focus_in_frame(page, "sp-cancel")

    page.keyboard.press("Escape")
    page.get_by_role("dialog").wait_for(state="detached")
    page.locator("li.event-cancel").wait_for()
    focus_on_page(page, f"button|{PAY_BUTTON}")

    # Escape on the dialog's own close button (focus on the shop's side) closes it too.
    open_dialog(page)
    page.keyboard.press("Shift+Tab")
    focus_on_page(page, "button|Close")
    page.keyboard.press("Escape")
    page.get_by_role("dialog").wait_for(state="detached")
    focus_on_page(page, f"button|{PAY_BUTTON}")
    assert payment_of(demo, order) is None


def test_a_wrong_code_is_said_at_the_field_and_the_right_one_then_pays(
    page,
    live_url,
    demo,  # noqa: F811
    shop_origin,
    shop_server,
    request,
):
    issued = voucher(demo, 5_000)
    shop(page, live_url, *shop_origin, order_id(request), shop_server[1])
    open_dialog(page)

    type_code(page, "WRONG-CODE-0000")
    error = frame(page).locator("#sp-code-error")
    error.wait_for()
    assert error.inner_text() == "This voucher code cannot be used for this payment."
    field = frame(page).get_by_label("Voucher code")
    assert field.get_attribute("aria-invalid") == "true"
    assert "sp-code-error" in field.get_attribute("aria-describedby")
    # Focus stays on the field, its text selected: typing again replaces it.
    focus_in_frame(page, "sp-code")
    selection = "() => [document.activeElement.selectionStart, document.activeElement.selectionEnd]"
    assert frame_of(page).evaluate(selection) == [0, len("WRONG-CODE-0000")]
    check_state(page)

    type_code(page, issued.code)
    focus_in_frame(page, "sp-pay")
    assert error.is_hidden()
    assert field.get_attribute("aria-invalid") is None
    page.keyboard.press("Enter")
    focus_in_frame(page, "sp-receipt-title")


def test_insufficient_balance_names_the_voucher_and_removing_it_is_the_way_forward(
    page,
    live_url,
    demo,  # noqa: F811
    shop_origin,
    shop_server,
    request,
):
    from vouchers.balance_changes import voucher_adjust

    shrunk, other = voucher(demo, 3_000), voucher(demo, 5_000)
    order = order_id(request)
    shop(page, live_url, *shop_origin, order, shop_server[1])
    open_dialog(page)
    type_code(page, shrunk.code)
    focus_in_frame(page, "sp-pay")
    # Meanwhile the shop corrects the voucher's balance below what this payment reserved.
    committed(
        lambda: voucher_adjust(
            voucher_id=shrunk.public_id,
            amount=-2_000,
            reason="Correction",
            actor=None,
            livemode=False,
        ),
        demo.schema_name,
    )

    page.keyboard.press("Enter")
    alert = frame(page).get_by_role("alert")
    alert.wait_for()
    last4 = shrunk.code[-4:]
    assert alert.inner_text() == (
        f"Voucher ••••{last4} doesn't have enough left for this payment. "
        "Remove it or add another voucher."
    )
    assert not DEVELOPER_WORDS.search(alert.inner_text())
    focus_in_frame(page, "sp-alert")
    check_state(page)

    frame(page).get_by_role("button", name=f"Remove voucher ••••{last4}").focus()
    page.keyboard.press("Enter")
    focus_in_frame(page, "sp-code")
    said(page).to_have_text(f"Voucher ••••{last4} removed. No vouchers added.")
    type_code(page, other.code)
    focus_in_frame(page, "sp-pay")
    page.keyboard.press("Enter")
    focus_in_frame(page, "sp-receipt-title")
    assert payment_of(demo, order).tenders[0]["voucher"] == other.public_id
    assert balance(demo, shrunk) == 1_000


def test_an_expired_checkout_offers_to_start_again(
    page,
    live_url,
    demo,  # noqa: F811
    shop_origin,
    shop_server,
    request,
):
    from checkout.models import CheckoutSession

    issued = voucher(demo, 5_000)
    order = order_id(request)
    shop(page, live_url, *shop_origin, order, shop_server[1])
    open_dialog(page)
    expired = session_of(page)
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)
    committed(
        lambda: CheckoutSession.objects.filter(public_id=expired).update(expires_at=past),
        demo.schema_name,
    )

    type_code(page, issued.code)
    problem = frame(page).locator("#sp-problem")
    problem.wait_for()
    assert frame(page).get_by_role("heading", name="This checkout has expired").is_visible()
    assert "Start again to pay. No voucher was charged." in problem.inner_text()
    assert frame(page).locator("#sp-entry").is_hidden()
    focus_in_frame(page, "sp-restart")
    said(page).to_contain_text("This checkout has expired")
    check_state(page)

    page.keyboard.press("Enter")
    page.wait_for_function(
        f"() => {{ const f = {DIALOG_IFRAME}; return f && f.src && !f.src.includes({expired!r}); }}"
    )
    focus_in_frame(page, "sp-code")
    assert session_of(page) != expired
    type_code(page, issued.code)
    focus_in_frame(page, "sp-pay")
    page.keyboard.press("Enter")
    focus_in_frame(page, "sp-receipt-title")
    assert payment_of(demo, order).amount == 2_490


def test_a_misconfigured_shop_tells_the_shopper_to_contact_it_and_the_console_why(
    page,
    live_url,
    demo,  # noqa: F811
    shop_origin,
    shop_server,
    request,
):
    console = []
    page.on("console", lambda message: console.append(message.text))
    # A page on a site the key does not allow.
    port, pages = shop_server
    shop(page, live_url, f"http://127.0.0.1:{port}", shop_origin[1], order_id(request), pages)
    page.get_by_role("button", name=PAY_BUTTON).focus()
    page.keyboard.press("Enter")

    dialog = page.get_by_role("dialog", name="Pay with a voucher")
    dialog.get_by_role("heading", name="Voucher payment isn't available").wait_for()
    text = dialog.inner_text()
    assert "This shop's checkout is not set up correctly. Please contact the shop." in text
    assert not DEVELOPER_WORDS.search(text), text
    assert any("origin_not_allowed" in line and "allowed origins" in line for line in console)
    # The box fits its message: no empty frame below it.
    assert page.locator("iframe[title^='SuperPayment']").is_hidden()
    assert dialog.bounding_box()["height"] < 320
    focus_on_page(page, "button|Close")
    check_state(page)

    page.keyboard.press("Enter")
    page.get_by_role("dialog").wait_for(state="detached")
    focus_on_page(page, f"button|{PAY_BUTTON}")
    page.locator("li.event-cancel").wait_for()


def test_when_the_service_cannot_be_reached_try_again_opens_the_checkout(
    page,
    live_url,
    demo,  # noqa: F811
    shop_origin,
    shop_server,
    request,
):
    shop(page, live_url, *shop_origin, order_id(request), shop_server[1])
    # The first attempt meets a dropped connection, the next one gets through.
    page.route(f"{live_url}/checkout/widget/sessions", lambda route: route.abort())
    page.get_by_role("button", name=PAY_BUTTON).focus()
    page.keyboard.press("Enter")

    dialog = page.get_by_role("dialog", name="Pay with a voucher")
    dialog.get_by_role("heading", name="We couldn't reach the payment service").wait_for()
    assert "Check your connection and try again." in dialog.inner_text()
    focus_on_page(page, "button|Try again")
    check_state(page)

    page.unroute(f"{live_url}/checkout/widget/sessions")
    page.keyboard.press("Enter")
    focus_in_frame(page, "sp-code")
    assert dialog.get_by_role("heading").count() == 0
