"""The account pages through HTTP: forms, CSRF, sessions, password and recovery."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI

import tokenward.web
from tests.conftest import PASSWORD, make_settings, random_email
from tests.smtp_sink import Sink, reset_token_in
from tokenward import Tokenward, current_user, install, lifespan_for
from tokenward.store.migrate import upgrade
from tokenward.store.records import User

ORIGIN = {"Origin": "http://testserver"}
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36"
FIREFOX = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
)
NEW_PASSWORD = "a different and long enough passphrase"


@pytest.fixture
async def browser_for(
    app: FastAPI,
) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    """Clients standing for browsers on different devices, sharing one app."""
    clients: list[httpx.AsyncClient] = []

    def make(user_agent: str = CHROME) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://testserver",
            headers={"User-Agent": user_agent},
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


def csrf_of(page: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "no CSRF field on the page"
    return match.group(1)


def session_ids(page: httpx.Response) -> list[str]:
    return re.findall(r'data-session-id="([^"]+)"', page.text)


def current_session(page: httpx.Response) -> str:
    """The id of the session the page marks as this device."""
    for block in page.text.split('<li class="session"')[1:]:
        if "this device" in block.split("</li>")[0]:
            return re.search(r'data-session-id="([^"]+)"', block).group(1)  # type: ignore[union-attr]
    raise AssertionError("no session is marked as this device")


async def sign_up(client: httpx.AsyncClient, email: str | None = None) -> str:
    email = email or random_email()
    response = await client.post(
        "/account/signup", data={"email": email, "password": PASSWORD}, headers=ORIGIN
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/account"
    return email


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> None:
    response = await client.post(
        "/account/signin", data={"email": email, "password": password}, headers=ORIGIN
    )
    assert response.status_code == 303, response.text


@pytest.mark.parametrize(
    "path", ["/account/signup", "/account/signin", "/account/forgot", "/account/reset"]
)
async def test_public_pages_render_accessible_forms(
    client: httpx.AsyncClient, path: str
) -> None:
    """Each page has a main landmark, labelled fields, and strict page headers."""
    response = await client.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<main" in response.text and '<html lang="en">' in response.text
    for field in re.findall(r'<input id="([^"]+)"', response.text):
        assert f'<label for="{field}">' in response.text
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


async def test_sign_up_signs_in_and_shows_the_account(
    browser_for: Callable[..., httpx.AsyncClient],
) -> None:
    """Sign-up sets the cookies; the account page shows the email and this device."""
    client = browser_for()
    email = await sign_up(client)

    page = await client.get("/account")

    assert page.status_code == 200
    assert email in page.text
    assert "Chrome on Linux" in page.text and "this device" in page.text
    assert len(session_ids(page)) == 1
    assert client.cookies["tokenward_csrf"] == csrf_of(page)


@pytest.mark.parametrize(
    "headers", [{}, {"Origin": "http://evil.example"}, {"Origin": "null"}]
)
@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/account/signup", {"email": "someone@example.com", "password": PASSWORD}),
        ("/account/signin", {"email": "someone@example.com", "password": PASSWORD}),
        ("/account/forgot", {"email": "someone@example.com"}),
        ("/account/reset", {"token": "twr_" + "A" * 43, "new_password": PASSWORD}),
    ],
)
async def test_forms_from_elsewhere_are_refused(
    client: httpx.AsyncClient, headers: dict[str, str], path: str, form: dict[str, str]
) -> None:
    """A form posted without our origin (login CSRF and its kin) is refused, sets
    nothing, and does nothing."""
    response = await client.post(path, data=form, headers=headers)

    assert response.status_code == 403
    assert "csrf_failed" in response.text
    assert "set-cookie" not in response.headers


async def test_sign_in_failures_do_not_tell_whether_the_account_exists(
    client: httpx.AsyncClient,
) -> None:
    """Unknown email and wrong password render the same page with the same status."""
    email = await sign_up(client)
    client.cookies.clear()

    wrong = await client.post(
        "/account/signin", data={"email": email, "password": "nope"}, headers=ORIGIN
    )
    unknown_email = "x" + email
    unknown = await client.post(
        "/account/signin",
        data={"email": unknown_email, "password": "nope"},
        headers=ORIGIN,
    )

    assert wrong.status_code == unknown.status_code == 401
    assert "The email or password is incorrect." in wrong.text
    assert wrong.text.replace(email, "") == unknown.text.replace(unknown_email, "")


async def test_sign_up_problems_are_explained_without_confirming_accounts(
    browser_for: Callable[..., httpx.AsyncClient],
) -> None:
    """A weak password says why; a taken address gets a message that confirms nothing."""
    email = await sign_up(browser_for())
    client = browser_for()

    weak = await client.post(
        "/account/signup",
        data={"email": random_email(), "password": "short"},
        headers=ORIGIN,
    )
    taken = await client.post(
        "/account/signup", data={"email": email, "password": PASSWORD}, headers=ORIGIN
    )

    assert weak.status_code == 422 and "at least 15 characters" in weak.text
    assert taken.status_code == 400
    assert "could not be created" in taken.text
    assert "exists" not in taken.text and "taken" not in taken.text


async def test_account_page_without_cookies_sends_to_sign_in(
    client: httpx.AsyncClient,
) -> None:
    """No session: a redirect to the sign-in page."""
    response = await client.get("/account")

    assert response.status_code == 303
    assert response.headers["location"] == "/account/signin"


async def test_expired_access_cookie_resumes_with_the_refresh_cookie(
    browser_for: Callable[..., httpx.AsyncClient],
) -> None:
    """Without the access cookie, the page resumes the session and comes back."""
    client = browser_for()
    await sign_up(client)
    client.cookies.delete("tokenward_access")

    page = await client.get("/account")
    resume = await client.get(page.headers["location"])
    back = await client.post(
        "/auth/cookie/resume",
        data={"csrf_token": csrf_of(resume), "next": "/account"},
        headers=ORIGIN,
    )

    assert page.headers["location"] == "/account/resume?next=/account"
    assert 'action="/auth/cookie/resume"' in resume.text
    assert back.status_code == 303 and back.headers["location"] == "/account"
    assert "tokenward_access" in client.cookies
    assert (await client.get("/account")).status_code == 200


async def test_resume_never_redirects_off_the_account_pages(
    browser_for: Callable[..., httpx.AsyncClient],
) -> None:
    """`next` outside the account pages falls back to /account (no open redirect)."""
    client = browser_for()
    await sign_up(client)

    resume = await client.get("/account/resume?next=//evil.example/")
    back = await client.post(
        "/auth/cookie/resume",
        data={"csrf_token": csrf_of(resume), "next": "https://evil.example/"},
        headers=ORIGIN,
    )

    assert 'name="next" value="/account"' in resume.text
    assert back.headers["location"] == "/account"


async def test_revoking_another_device_signs_it_out(
    browser_for: Callable[..., httpx.AsyncClient],
) -> None:
    """The revoke button ends the other session; its next page load signs it out."""
    laptop, phone = browser_for(), browser_for(FIREFOX)
    email = await sign_up(laptop)
    await sign_in(phone, email)
    page = await laptop.get("/account")
    phone_session = current_session(await phone.get("/account"))
    assert "Firefox on Windows" in page.text

    revoked = await laptop.post(
        f"/account/sessions/{phone_session}/revoke",
        data={"csrf_token": csrf_of(page)},
        headers=ORIGIN,
    )
    after = await phone.get("/account")

    assert revoked.status_code == 303
    assert revoked.headers["location"] == "/account?done=revoked"
    assert after.status_code == 303
    assert after.headers["location"] == "/account/signin?done=signedout"
    assert phone_session not in (await laptop.get("/account")).text


async def test_revoke_with_a_wrong_csrf_token_changes_nothing(
    browser_for: Callable[..., httpx.AsyncClient],
) -> None:
    """A revoke form without the right token is refused; the session lives on."""
    client = browser_for()
    await sign_up(client)
    page = await client.get("/account")
    [session_id] = session_ids(page)

    refused = await client.post(
        f"/account/sessions/{session_id}/revoke",
        data={"csrf_token": "A" * 43},
        headers=ORIGIN,
    )

    assert refused.status_code == 403 and "csrf_failed" in refused.text
    assert (await client.get("/account")).status_code == 200


async def test_sign_out_everywhere_ends_every_session(
    browser_for: Callable[..., httpx.AsyncClient],
) -> None:
    """The button signs out this device and every other one."""
    laptop, phone = browser_for(), browser_for(FIREFOX)
    email = await sign_up(laptop)
    await sign_in(phone, email)
    page = await laptop.get("/account")

    response = await laptop.post(
        "/account/signout-everywhere", data={"csrf_token": csrf_of(page)}, headers=ORIGIN
    )

    assert response.headers["location"] == "/account/signin?done=signedout"
    assert "tokenward_access" not in laptop.cookies
    assert (await phone.get("/account")).status_code == 303


async def test_sign_out_revokes_this_session_and_clears_cookies(
    browser_for: Callable[..., httpx.AsyncClient],
) -> None:
    """The sign-out button in the header ends the session, not just the cookies."""
    client = browser_for()
    await sign_up(client)
    page = await client.get("/account")
    access = client.cookies["tokenward_access"]

    response = await client.post(
        "/account/signout", data={"csrf_token": csrf_of(page)}, headers=ORIGIN
    )

    assert response.headers["location"] == "/account/signin?done=signedout"
    assert "tokenward_csrf" not in client.cookies
    whoami = await client.get(
        "/auth/whoami", headers={"Authorization": f"Bearer {access}"}
    )
    assert whoami.json()["code"] == "token_revoked"


async def test_change_password_keeps_this_session_and_ends_the_others(
    browser_for: Callable[..., httpx.AsyncClient],
) -> None:
    """A wrong current password is explained; a right one signs out other devices."""
    laptop, phone = browser_for(), browser_for(FIREFOX)
    email = await sign_up(laptop)
    await sign_in(phone, email)
    form = await laptop.get("/account/password")
    csrf = csrf_of(form)

    wrong = await laptop.post(
        "/account/password",
        data={
            "csrf_token": csrf,
            "current_password": "nope",
            "new_password": NEW_PASSWORD,
        },
        headers=ORIGIN,
    )
    changed = await laptop.post(
        "/account/password",
        data={
            "csrf_token": csrf,
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
        },
        headers=ORIGIN,
    )

    assert wrong.status_code == 400 and "current password is incorrect" in wrong.text
    assert changed.headers["location"] == "/account?done=password"
    notice = await laptop.get("/account?done=password")
    assert "Your password has been changed" in notice.text
    assert (await phone.get("/account")).status_code == 303


async def test_forgot_and_reset_pages_over_smtp(
    app_factory: Callable[..., Any], smtp_sink: Sink
) -> None:
    """Forgot mails a link; its page sets a new password and signs out every device."""
    app = await app_factory(smtp_url=smtp_sink.url)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        email = await sign_up(c)
        sent = await c.post("/account/forgot", data={"email": email}, headers=ORIGIN)
        await app.state.tokenward.recovery.drain()
        token = reset_token_in(smtp_sink.messages[0])

        page = await c.get(f"/account/reset?token={token}")
        bad = await c.post(
            "/account/reset",
            data={"token": "twr_" + "A" * 43, "new_password": NEW_PASSWORD},
            headers=ORIGIN,
        )
        done = await c.post(
            "/account/reset",
            data={"token": token, "new_password": NEW_PASSWORD},
            headers=ORIGIN,
        )

        assert sent.headers["location"] == "/account/forgot?done=sent"
        assert f'name="token" value="{token}"' in page.text
        assert bad.status_code == 400 and "invalid, used or expired" in bad.text
        assert done.headers["location"] == "/account/signin?done=reset"
        assert (await c.get("/account")).status_code == 303
        await sign_in(c, email, NEW_PASSWORD)


async def test_forgot_page_answers_alike_for_unknown_addresses(
    client: httpx.AsyncClient,
) -> None:
    """The same redirect and notice whether or not the address has an account."""
    email = await sign_up(client)

    known = await client.post("/account/forgot", data={"email": email}, headers=ORIGIN)
    unknown = await client.post(
        "/account/forgot", data={"email": random_email()}, headers=ORIGIN
    )

    assert known.status_code == unknown.status_code == 303
    assert known.headers["location"] == unknown.headers["location"]


async def test_static_assets_are_served(client: httpx.AsyncClient) -> None:
    """The stylesheet and the resume script, and nothing else, from /account/static."""
    css = await client.get("/account/static/style.css")
    js = await client.get("/account/static/resume.js")
    missing = await client.get("/account/static/../../etc/passwd")

    assert (
        css.headers["content-type"].startswith("text/css")
        and ":focus-visible" in css.text
    )
    assert js.headers["content-type"].startswith("text/javascript")
    assert missing.status_code == 404


async def test_pages_and_cookies_work_in_an_embedding_app(sqlite_url: str) -> None:
    """A host app adds the pages with one include; its routes then take the cookie."""
    await upgrade(sqlite_url)
    auth = Tokenward(make_settings(database_url=sqlite_url))
    app = FastAPI(lifespan=lifespan_for(auth))
    install(app, auth)
    app.include_router(tokenward.web.router)

    @app.get("/notes")
    async def notes(user: Annotated[User, Depends(current_user)]) -> list[str]:
        return [user.email]

    @app.post("/notes")
    async def add_note(user: Annotated[User, Depends(current_user)]) -> str:
        return "added"

    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://host") as client,
    ):
        email = random_email()
        signed_up = await client.post(
            "/account/signup",
            data={"email": email, "password": PASSWORD},
            headers={"Origin": "http://host"},
        )
        read = await client.get("/notes")
        unguarded = await client.post("/notes")
        guarded = await client.post(
            "/notes", headers={"X-CSRF-Token": client.cookies["tokenward_csrf"]}
        )

    assert signed_up.status_code == 303
    assert read.json() == [email]
    assert (unguarded.status_code, unguarded.json()["code"]) == (403, "csrf_failed")
    assert guarded.json() == "added"
