"""Email over SMTP (``SMTP_URL``): a text body with an HTML alternative.

``smtp://user:pass@host:587?starttls=1`` upgrades the connection with STARTTLS, ``smtps://host:465`` uses
TLS from the start, ``smtp://host:25`` sends in the clear (a local relay). The standard library's smtplib
is enough: the actor runs in a worker thread and sends one message per call.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from actors.notify.channels.base import Outgoing, PermanentDeliveryError, TransientDeliveryError
from actors.notify.config import NotifyConfig

_TRUE = {"1", "true", "yes", "on"}


def build_message(config: NotifyConfig, outgoing: Outgoing) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = outgoing.content.subject
    message["From"] = config.email_from
    message["To"] = outgoing.to
    message["Message-ID"] = make_msgid(domain="genjobs")
    message.set_content(outgoing.content.text)
    message.add_alternative(outgoing.content.html, subtype="html")
    return message


def send(config: NotifyConfig, outgoing: Outgoing) -> None:
    """Hand the email to the SMTP server.

    Raises:
        PermanentDeliveryError: no SMTP_URL, a refused address (5xx) or failed authentication.
        TransientDeliveryError: the server is unreachable or answered 4xx (try later).
    """
    if not config.smtp_url:
        raise PermanentDeliveryError("email is not configured on this server (SMTP_URL is not set)")
    url = urlsplit(config.smtp_url)
    if url.scheme not in ("smtp", "smtps") or not url.hostname:
        raise PermanentDeliveryError("SMTP_URL must look like smtp://user:pass@host:port or smtps://host:port")
    starttls = parse_qs(url.query).get("starttls", [""])[0].lower() in _TRUE
    port = url.port or (465 if url.scheme == "smtps" else 587 if starttls else 25)
    message = build_message(config, outgoing)
    try:
        smtp: smtplib.SMTP
        if url.scheme == "smtps":
            smtp = smtplib.SMTP_SSL(
                url.hostname, port, timeout=config.timeout_seconds, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(url.hostname, port, timeout=config.timeout_seconds)
        with smtp:
            if starttls:
                smtp.starttls(context=ssl.create_default_context())
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        code, reason = next(iter(exc.recipients.values()))
        _raise_for_code(code, f"the mail server refused the address ({code} {_text(reason)})")
    except smtplib.SMTPAuthenticationError as exc:
        raise PermanentDeliveryError(f"the mail server refused our login ({exc.smtp_code})") from None
    except smtplib.SMTPResponseException as exc:
        _raise_for_code(exc.smtp_code, f"the mail server answered {exc.smtp_code} {_text(exc.smtp_error)}")
    except (smtplib.SMTPException, OSError) as exc:
        raise TransientDeliveryError(f"could not reach the mail server ({type(exc).__name__})") from None


def _raise_for_code(code: int, message: str) -> None:
    if 400 <= code < 500:
        raise TransientDeliveryError(message)
    raise PermanentDeliveryError(message)


def _text(reason: bytes | str) -> str:
    text = reason.decode(errors="replace") if isinstance(reason, bytes) else reason
    return " ".join(text.split())[:200]
