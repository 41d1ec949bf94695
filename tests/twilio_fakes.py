"""Twilio at the HTTP boundary: a recording fake under Twilio's real client, and signed
webhook requests.

The backends run ``twilio.rest.Client`` unchanged; only its ``HttpClient`` is replaced,
so each test sees the exact request Twilio would receive and nothing leaves the machine.
"""

import json
import logging
from dataclasses import dataclass
from email.utils import format_datetime
from urllib.parse import parse_qsl, urlencode

from django.utils import timezone
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator

from omnichannel.channels.twilio_base import TwilioBackend

ACCOUNT_SID = "AC" + "a1" * 16
AUTH_TOKEN = "test-auth-token"
FROM_NUMBER = "+15005550006"
WHATSAPP_FROM = "+14155238886"
PUBLIC_BASE_URL = "https://shop.example.com"
MESSAGES_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"

TWILIO_SETTINGS = {
    "CHANNEL_BACKENDS": {
        "sms": "omnichannel.channels.twilio_sms.TwilioSmsBackend",
        "whatsapp": "omnichannel.channels.twilio_whatsapp.TwilioWhatsAppBackend",
    },
    "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
    "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
    "TWILIO_FROM_NUMBER": FROM_NUMBER,
    "TWILIO_WHATSAPP_FROM": WHATSAPP_FROM,
    "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
    # Deterministic whatever the hour the suite runs at.
    "SEND_WINDOWS": {},
    "FREQUENCY_CAPS": {},
}


@dataclass
class SentRequest:
    method: str
    url: str
    params: dict
    form: dict  # the form-encoded body, as Twilio would read it
    auth: tuple


class FakeTwilioHttp(HttpClient):
    """Records every request; answers with what the test queued (a message by default)."""

    def __init__(self):
        super().__init__(logging.getLogger("tests.twilio"), is_async=False)
        self.requests = []
        self.answers = []

    def answer(self, status, body):
        self.answers.append((status, body))

    def fail_with(self, error):
        self.answers.append(error)

    def request(self, method, url, params=None, data=None, headers=None, auth=None, **kwargs):
        form = dict(parse_qsl(urlencode(data or {}, doseq=True)))
        self.requests.append(SentRequest(method, url, dict(params or {}), form, auth))
        answer = self.answers.pop(0) if self.answers else (201, message_resource())
        if isinstance(answer, Exception):
            raise answer
        status, body = answer
        return Response(status, json.dumps(body), {"Content-Type": "application/json"})


def install(monkeypatch, settings):
    """Configure both Twilio channels on top of the test settings; return the fake."""
    fake = FakeTwilioHttp()
    monkeypatch.setattr(TwilioBackend, "http_client", lambda backend: fake)
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, **TWILIO_SETTINGS}
    return fake


def message_resource(sid="SM" + "0" * 32, **fields):
    """A Message resource as Twilio's API returns it."""
    now = format_datetime(timezone.now().replace(microsecond=0))
    return {
        "sid": sid,
        "account_sid": ACCOUNT_SID,
        "status": "queued",
        "direction": "outbound-api",
        "from": FROM_NUMBER,
        "to": "+33612345678",
        "body": "",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "messaging_service_sid": None,
        "date_created": now,
        "date_updated": now,
        "date_sent": None,
        "error_code": None,
        **fields,
    }


def error_body(code, message, status):
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def signed_post(client, path, params, *, url=None, headers=None):
    """POST ``params`` to ``path`` signed as Twilio signs for ``url`` (default: public)."""
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        url or PUBLIC_BASE_URL + path, params
    )
    return client.post(path, params, headers={"X-Twilio-Signature": signature, **(headers or {})})
