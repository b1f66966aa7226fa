"""Outgoing mail: through SMTP when `TOKENWARD_SMTP_URL` is set, else to the log.

smtplib blocks, so each message is sent on a worker thread. Without SMTP, development
writes the whole message to the log (the reset link included, which is what makes
the recovery pages usable locally); production logs only that a message was dropped.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from tokenward.config import ConfigurationError, Settings
from tokenward.events import log_event

logger = logging.getLogger("tokenward.mail")
SMTP_TIMEOUT = 10.0
_DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    body: str


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int
    implicit_tls: bool
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        """Parse `smtp://[user:password@]host[:port]` or `smtps://…`."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise ConfigurationError("TOKENWARD_SMTP_URL is not a valid URL") from exc
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise ConfigurationError(
                "TOKENWARD_SMTP_URL must look like smtp://host:port or smtps://host:port"
            )
        return cls(
            host=parts.hostname,
            port=port or _DEFAULT_PORTS[parts.scheme],
            implicit_tls=parts.scheme == "smtps",
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


class Mailer:
    def __init__(self, smtp_url: str | None, sender: str, production: bool) -> None:
        self.server = SmtpServer.from_url(smtp_url) if smtp_url else None
        self.sender = sender
        self.production = production

    @classmethod
    def from_settings(cls, settings: Settings) -> Mailer:
        url = settings.smtp_url.get_secret_value() if settings.smtp_url else None
        return cls(url, settings.mail_from, settings.is_production)

    async def send(self, mail: Mail) -> None:
        if self.server is None:
            self._log(mail)
            return
        await asyncio.to_thread(self._deliver, self.server, mail)
        log_event("mail_sent", logger=logger, subject=mail.subject)

    def _log(self, mail: Mail) -> None:
        if self.production:
            logger.warning("mail not sent: TOKENWARD_SMTP_URL is not set")
            return
        log_event(
            "mail_logged", logger=logger, to=mail.to, subject=mail.subject, body=mail.body
        )

    def _deliver(self, server: SmtpServer, mail: Mail) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.body)
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if server.implicit_tls:
            smtp = smtplib.SMTP_SSL(
                server.host, server.port, timeout=SMTP_TIMEOUT, context=context
            )
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=SMTP_TIMEOUT)
        with smtp:
            smtp.ehlo()
            encrypted = server.implicit_tls
            if not encrypted and smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
                encrypted = True
            if server.username is not None:
                if not encrypted and not _is_loopback(server.host):
                    raise smtplib.SMTPException("refusing to log in to SMTP without TLS")
                smtp.login(server.username, server.password or "")
            smtp.send_message(message)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
