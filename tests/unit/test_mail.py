"""Outgoing mail: SMTP delivery to a local sink, and the log in development."""

from __future__ import annotations

import logging

import pytest

from tests.smtp_sink import Sink, free_port
from tokenward.config import ConfigurationError
from tokenward.mail import Mail, Mailer, SmtpServer

MAIL = Mail(to="alice@example.com", subject="Reset your password", body="the link\n")


async def test_smtp_delivers_the_message(smtp_sink: Sink) -> None:
    """With an smtp:// URL the message reaches the server, sender and all."""
    mailer = Mailer(smtp_sink.url, "tokenward@example.com", production=True)

    await mailer.send(MAIL)

    assert len(smtp_sink.envelopes) == 1
    envelope = smtp_sink.envelopes[0]
    assert envelope.mail_from == "tokenward@example.com"
    assert envelope.rcpt_tos == ["alice@example.com"]
    message = smtp_sink.messages[0]
    assert message["Subject"] == "Reset your password"
    assert message.get_payload().strip() == "the link"


async def test_smtp_failure_raises_to_the_caller() -> None:
    """A server that does not answer is an error the caller sees (and logs)."""
    mailer = Mailer(f"smtp://127.0.0.1:{free_port()}", "t@example.com", production=False)

    with pytest.raises(OSError):
        await mailer.send(MAIL)


async def test_development_without_smtp_writes_the_mail_to_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Unset SMTP in development: the whole message goes to the log."""
    mailer = Mailer(None, "t@example.com", production=False)

    with caplog.at_level(logging.INFO, logger="tokenward.mail"):
        await mailer.send(MAIL)

    record = caplog.records[-1]
    assert record.event == "mail_logged"  # type: ignore[attr-defined]
    assert record.event_fields["body"] == "the link\n"  # type: ignore[attr-defined]


async def test_production_without_smtp_logs_no_message_body(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Unset SMTP in production: a warning, and the message (a secret link) is dropped."""
    mailer = Mailer(None, "t@example.com", production=True)

    with caplog.at_level(logging.INFO, logger="tokenward.mail"):
        await mailer.send(MAIL)

    assert "TOKENWARD_SMTP_URL is not set" in caplog.text
    assert "the link" not in caplog.text
    assert not any(hasattr(r, "event_fields") for r in caplog.records)


def test_smtp_url_forms() -> None:
    """Default ports, implicit TLS for smtps, and percent-encoded credentials."""
    plain = SmtpServer.from_url("smtp://mail.example.com")
    tls = SmtpServer.from_url("smtps://user%40example.com:p%3Ass@mail.example.com")

    assert (plain.port, plain.implicit_tls, plain.username) == (25, False, None)
    assert (tls.port, tls.implicit_tls) == (465, True)
    assert (tls.username, tls.password) == ("user@example.com", "p:ss")


@pytest.mark.parametrize(
    "url", ["http://mail.example.com", "smtp://", "smtp://host:notaport"]
)
def test_bad_smtp_urls_are_configuration_errors(url: str) -> None:
    """A wrong SMTP URL stops the start with one clear line."""
    with pytest.raises(ConfigurationError, match="TOKENWARD_SMTP_URL"):
        SmtpServer.from_url(url)
