"""Email through Django's mail API, so any django-anymail ESP (or SMTP) sends it.

Marketing mail carries RFC 8058 one-click unsubscribe headers (Gmail and Yahoo require
them of bulk senders). The message's UUID rides along as anymail metadata and as a header,
so tracking webhooks find their message. anymail does not retry; the dispatcher does,
from the errors mapped here.

A batch's emails share one mail connection (``batch_session()``): one SMTP session, or for an
anymail ESP one ``requests`` session whose keep-alive connection carries every API call.
Django's mail API would otherwise open and close one per message.
"""

import smtplib
from functools import cached_property

from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils.html import escape

from ..conf import omnichannel_settings
from ..core.links import unsubscribe_url
from ..exceptions import PermanentSendError, TransientSendError
from ..models.consent import Purpose, SuppressionReason
from .base import BaseChannelBackend, SendResult, SharedConnection

MESSAGE_HEADER = "X-Omnichannel-Message"


class EmailBackend(BaseChannelBackend):
    channel = "email"
    provider = "email"

    @property
    def request_timeout(self):
        """Django's ``EMAIL_TIMEOUT`` for SMTP, else anymail's request timeout (30 s by
        default; a (connect, read) pair counts as both)."""
        if getattr(settings, "EMAIL_TIMEOUT", None):
            return settings.EMAIL_TIMEOUT
        timeout = getattr(settings, "ANYMAIL", {}).get("REQUESTS_TIMEOUT", 30)
        return sum(timeout) if isinstance(timeout, tuple | list) else timeout

    def address(self, message):
        return message.contact.email

    def batch_session(self):
        return self.connections.scope()

    @cached_property
    def connections(self):
        return SharedConnection(open_connection, lambda connection: connection.close())

    def build_payload(self, message, rendered):
        headers = {MESSAGE_HEADER: str(message.uuid)}
        if message.purpose == Purpose.MARKETING:
            headers["List-Unsubscribe"] = f"<{unsubscribe_url(message.contact, 'email')}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        email = EmailMultiAlternatives(
            subject=" ".join(rendered.get("subject", "").split()),
            body=rendered.get("text", ""),
            from_email=omnichannel_settings.EMAIL_FROM or settings.DEFAULT_FROM_EMAIL,
            to=[message.to],
            headers=headers,
        )
        html = rendered.get("html")
        if html:
            email.attach_alternative(
                with_preheader(html, rendered.get("preheader", "")), "text/html"
            )
        # Read by anymail's ESP backends; ignored by Django's own.
        email.metadata = {"omnichannel_message": str(message.uuid)}
        if message.source:
            email.tags = [message.source[:100]]
        return email

    def call_provider(self, email, message):
        try:
            with self.connections.use() as connection:
                email.connection = connection
                email.send(fail_silently=False)
        except AnymailRecipientsRefused as exc:
            raise PermanentSendError(
                str(exc), provider=self._esp(exc), suppress=SuppressionReason.INVALID
            ) from exc
        except AnymailAPIError as exc:
            status = exc.status_code
            context = {"provider": self._esp(exc), "status_code": status}
            if status is None or status == 429 or status >= 500:
                raise TransientSendError(
                    str(exc), retry_after=_retry_after(exc), **context
                ) from exc
            raise PermanentSendError(str(exc), **context) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentSendError(
                str(exc), provider="smtp", suppress=SuppressionReason.INVALID
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientSendError(str(exc), provider="smtp") from exc
        return email

    def parse_response(self, email, message):
        status = getattr(email, "anymail_status", None)
        message_id = status.message_id if status is not None else None
        return SendResult(provider_message_id="" if message_id is None else str(message_id))

    @staticmethod
    def _esp(exc):
        return exc.esp_name or "email"


def open_connection():
    """An open connection to ``EMAIL_BACKEND``: SMTP connects and says EHLO here, an
    anymail ESP backend makes its ``requests`` session."""
    connection = get_connection(fail_silently=False)
    connection.open()
    return connection


def with_preheader(html, preheader):
    """Put the preview text first in the body, hidden, as mail clients expect."""
    if not preheader:
        return html
    hidden = (
        '<div style="display:none;max-height:0;overflow:hidden;mso-hide:all">'
        f"{escape(preheader)}</div>"
    )
    if "<body" in html:
        head, _, rest = html.partition("<body")
        tag_end = rest.find(">") + 1
        return f"{head}<body{rest[:tag_end]}{hidden}{rest[tag_end:]}"
    return hidden + html


def _retry_after(exc):
    response = getattr(exc, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return float(value) if value else None
    except ValueError:
        return None
