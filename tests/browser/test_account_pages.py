"""The account pages in real Chromium: sign-up to recovery, two devices, hostile forms."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect

from tests.browser.conftest import HostileSite, screenshot
from tests.conftest import PASSWORD, random_email
from tests.e2e.conftest import Server
from tests.smtp_sink import Sink, reset_token_in

pytestmark = pytest.mark.browser
NEW_PASSWORD = "a different and long enough passphrase"
MAIL_WAIT_SECONDS = 10


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    """Browser contexts (separate cookie jars: separate devices), closed afterwards."""
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


def device(
    browser: Browser, contexts: list[BrowserContext], server: Server, **options: object
) -> Page:
    context = browser.new_context(base_url=server.base_url, **options)  # type: ignore[arg-type]
    contexts.append(context)
    return context.new_page()


def sign_up(page: Page, email: str) -> None:
    page.goto("/account/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/account$"))


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/account/signin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/account$"))


def test_sign_up_and_in_with_tokens_out_of_reach_of_scripts(
    browser: Browser, contexts: list[BrowserContext], server: Server
) -> None:
    """Sign up, sign out, sign in; scripts see the CSRF cookie and never a token."""
    page = device(browser, contexts, server)
    email = random_email()
    page.goto("/account/signup")
    screenshot(page, "signup")

    sign_up(page, email)
    expect(page.locator("#account-email")).to_have_text(email)
    screenshot(page, "account")

    script_cookies = page.evaluate("document.cookie")
    jar = {c["name"]: c for c in page.context.cookies()}
    assert "tokenward_csrf=" in script_cookies
    assert "tokenward_access" not in script_cookies
    assert "tokenward_refresh" not in script_cookies
    assert jar["tokenward_access"]["value"] not in script_cookies
    assert jar["tokenward_access"]["httpOnly"] and jar["tokenward_refresh"]["httpOnly"]
    assert jar["tokenward_access"]["sameSite"] == "Lax"
    assert jar["tokenward_refresh"]["sameSite"] == "Strict"
    assert jar["tokenward_refresh"]["path"] == "/auth/cookie"

    page.get_by_role("button", name="Sign out", exact=True).first.click()
    expect(page).to_have_url(re.compile(r"/account/signin\?done=signedout$"))
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    screenshot(page, "signin")
    sign_in(page, email)
    expect(page.locator("#account-email")).to_have_text(email)


def test_failed_sign_in_is_announced_and_focus_is_visible(
    browser: Browser, contexts: list[BrowserContext], server: Server
) -> None:
    """A wrong password shows an alert; keyboard focus draws a visible outline."""
    page = device(browser, contexts, server)
    page.goto("/account/signin")
    page.get_by_label("Email").fill(random_email())
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_have_text("The email or password is incorrect.")
    screenshot(page, "signin-failed")
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"


def test_revoked_second_device_is_signed_out_at_its_next_request(
    browser: Browser,
    contexts: list[BrowserContext],
    server: Server,
    playwright: Playwright,
) -> None:
    """A phone revoked from the laptop's account page is signed out on its next load."""
    laptop = device(browser, contexts, server)
    phone = device(browser, contexts, server, **playwright.devices["Pixel 7"])
    email = random_email()
    sign_up(laptop, email)
    sign_in(phone, email)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= phone.viewport_size["width"]  # type: ignore[index]
    screenshot(phone, "account-phone")

    laptop.reload()
    sessions = laptop.locator("li.session")
    expect(sessions).to_have_count(2)
    screenshot(laptop, "account-two-devices")
    other = sessions.filter(has_text="Chrome on Android")
    other.get_by_role("button", name=re.compile("^Sign out Chrome on Android")).click()
    expect(laptop.get_by_role("status")).to_have_text("That session is signed out.")
    expect(laptop.locator("li.session")).to_have_count(1)

    phone.reload()
    expect(phone).to_have_url(re.compile(r"/account/signin\?done=signedout$"))
    assert "tokenward_access" not in {c["name"] for c in phone.context.cookies()}


def test_change_password_signs_out_the_other_device(
    browser: Browser, contexts: list[BrowserContext], server: Server
) -> None:
    """Change the password; the other device is out, the new password signs in."""
    laptop, other = device(browser, contexts, server), device(browser, contexts, server)
    email = random_email()
    sign_up(laptop, email)
    sign_in(other, email)

    laptop.get_by_role("link", name="Password", exact=True).click()
    laptop.get_by_label("Current password").fill("not the password")
    laptop.get_by_label("New password").fill(NEW_PASSWORD)
    laptop.get_by_role("button", name="Change password").click()
    expect(laptop.get_by_role("alert")).to_have_text("The current password is incorrect.")
    screenshot(laptop, "password")
    laptop.get_by_label("Current password").fill(PASSWORD)
    laptop.get_by_label("New password").fill(NEW_PASSWORD)
    laptop.get_by_role("button", name="Change password").click()

    expect(laptop.get_by_role("status")).to_contain_text("Your password has been changed")
    other.reload()
    expect(other).to_have_url(re.compile(r"/account/signin"))
    sign_in(other, email, NEW_PASSWORD)


def test_forgot_and_reset_through_the_mailed_link(
    browser: Browser, contexts: list[BrowserContext], server: Server, mail_sink: Sink
) -> None:
    """The mailed link opens the reset page; the new password signs in."""
    page = device(browser, contexts, server)
    email = random_email()
    sign_up(page, email)
    page.context.clear_cookies()

    page.goto("/account/forgot")
    page.get_by_label("Email").fill(email)
    screenshot(page, "forgot")
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("status")).to_contain_text("a reset link is on its way")
    token = reset_token_in(wait_for_mail(mail_sink, email))

    page.goto(f"/account/reset?token={token}")
    page.get_by_label("New password").fill(NEW_PASSWORD)
    screenshot(page, "reset")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password has been reset")
    sign_in(page, email, NEW_PASSWORD)


def wait_for_mail(sink: Sink, to: str) -> object:
    """The first mail to `to`; the server sends it in the background, so poll a while."""
    deadline = time.monotonic() + MAIL_WAIT_SECONDS
    while time.monotonic() < deadline:
        for message in sink.messages:
            if message["To"] == to:
                return message
        time.sleep(0.05)
    raise AssertionError(f"no mail to {to} within {MAIL_WAIT_SECONDS} s")


def test_expired_access_cookie_is_renewed_without_a_click(
    browser: Browser, contexts: list[BrowserContext], server: Server
) -> None:
    """With the access cookie gone, the account page comes back by itself."""
    page = device(browser, contexts, server)
    email = random_email()
    sign_up(page, email)
    refresh_before = cookie(page, "tokenward_refresh")

    page.context.clear_cookies(name="tokenward_access")
    page.goto("/account")

    expect(page).to_have_url(re.compile(r"/account$"))
    expect(page.locator("#account-email")).to_have_text(email)
    assert cookie(page, "tokenward_refresh") != refresh_before


def cookie(page: Page, name: str) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == name)


def test_forms_posted_from_another_origin_are_refused(
    browser: Browser,
    contexts: list[BrowserContext],
    server: Server,
    hostile_site: HostileSite,
) -> None:
    """A hostile page cannot sign the user out everywhere, even holding the CSRF token.

    Cookies do not keep ports apart, so a page on the same host but another port can
    read the CSRF cookie; the Origin check is what stops it, and CORS stops fetch().
    """
    page = device(browser, contexts, server)
    sign_up(page, random_email())
    target = f"{server.base_url}/account/signout-everywhere"
    hostile_site.pages["/plain"] = hostile_form(target, with_token=False)
    hostile_site.pages["/stolen"] = hostile_form(target, with_token=True)
    hostile_site.pages["/fetch"] = HOSTILE_FETCH.replace("TARGET", server.base_url)

    for path in ("/plain", "/stolen"):
        with page.expect_response(target) as answer:
            page.goto(hostile_site.url(path))
        assert answer.value.status == 403
        expect(page.get_by_role("heading", name="Request refused")).to_be_visible()
    screenshot(page, "refused")
    page.goto(hostile_site.url("/fetch"))
    expect(page.locator("#result")).to_have_text("blocked")

    page.goto("/account")
    expect(page).to_have_url(re.compile(r"/account$"))
    expect(page.locator("li.session")).to_have_count(1)


def hostile_form(target: str, *, with_token: bool) -> str:
    """An auto-submitting form, optionally carrying the CSRF cookie it could read."""
    steal = (
        "document.getElementById('t').value ="
        " (document.cookie.match(/tokenward_csrf=([^;]+)/) || [])[1] || '';"
        if with_token
        else ""
    )
    return f"""<!doctype html><html><body>
<form id="f" method="post" action="{target}">
  <input type="hidden" id="t" name="csrf_token" value="">
</form>
<script>{steal} document.getElementById('f').submit();</script>
</body></html>"""


HOSTILE_FETCH = """<!doctype html><html><body><p id="result">pending</p><script>
const token = (document.cookie.match(/tokenward_csrf=([^;]+)/) || [])[1] || "";
fetch("TARGET/auth/logout-all", {method: "POST", credentials: "include",
  headers: {"X-CSRF-Token": token}})
  .then(r => { document.getElementById("result").textContent = "status " + r.status; })
  .catch(() => { document.getElementById("result").textContent = "blocked"; });
</script></body></html>"""
