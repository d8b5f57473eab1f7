"""Text messages to owners: pluggable SMS backends (like Django's e-mail backends) chosen by ``SMS_BACKEND``.

``console`` prints, ``filebased`` writes one file per message under ``SMS_FILE_PATH`` (the default outside
production: nothing leaves the machine), ``locmem`` keeps an outbox for tests, ``http`` posts to a signed JSON SMS
gateway and ``aliyun`` to Alibaba Cloud SMS, both configured by ``SMS_GATEWAY_*`` environment variables. A backend
never raises for a refused message: it answers an ``SmsResult`` that the caller records. E-mail goes through Django's own ``EMAIL_BACKEND``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import prefetch_related_objects
from django.urls import reverse
from django.utils.module_loading import import_string

from core.logging import mask_phones
from owners.models import mask_phone


@dataclass(frozen=True)
class SmsMessage:
    """One text to one phone: the rendered ``text`` (console, file) and the gateway's template and parameters."""

    to: str
    text: str
    template: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SmsResult:
    ok: bool
    provider_id: str = ""
    error: str = ""


class BaseSmsBackend:
    def send(self, message: SmsMessage) -> SmsResult:  # pragma: no cover - interface
        raise NotImplementedError


class ConsoleSmsBackend(BaseSmsBackend):
    """Prints each message (phone masked: the console lands in the web log) to ``stream`` (stdout)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()

    def send(self, message: SmsMessage) -> SmsResult:
        with self._lock:
            self.stream.write(f"SMS to {mask_phone(message.to)} [{message.template}]\n{message.text}\n{'-' * 40}\n")
            self.stream.flush()
        return SmsResult(ok=True, provider_id=f"console-{secrets.token_hex(6)}")


class FileSmsBackend(BaseSmsBackend):
    """Writes each message as JSON into ``SMS_FILE_PATH``, one file per message (for development and tests)."""

    def __init__(self, file_path: str | None = None):
        self.directory = Path(file_path or settings.SMS_FILE_PATH)

    def send(self, message: SmsMessage) -> SmsResult:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(6)}"
        payload = {"to": message.to, "template": message.template, "params": message.params, "text": message.text}
        (self.directory / f"{name}.json").write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
        return SmsResult(ok=True, provider_id=f"file-{name}")


outbox: list[SmsMessage] = []


class LocmemSmsBackend(BaseSmsBackend):
    """Appends to ``online.messaging.outbox`` (tests empty it)."""

    def send(self, message: SmsMessage) -> SmsResult:
        outbox.append(message)
        return SmsResult(ok=True, provider_id=f"locmem-{len(outbox)}")


class HttpGatewaySmsBackend(BaseSmsBackend):
    """A signed JSON gateway, as Chinese SMS providers offer them: template code, sign name and parameters.

    ``POST SMS_GATEWAY_URL`` with ``{"phone", "sign_name", "template_code", "template_param", "timestamp",
    "nonce"}``; headers ``X-Api-Key`` and ``X-Signature`` = hex HMAC-SHA256(secret, body). The gateway answers JSON
    ``{"code": "OK", "message_id": …}`` or another ``code`` with a ``message``. The secret never leaves in the body,
    and the phone appears in no error text (errors are stored and shown).
    """

    def __init__(self, *, url=None, key=None, secret=None, sign_name=None, templates=None, timeout=None):
        self.url = url or settings.SMS_GATEWAY_URL
        self.key = key if key is not None else settings.SMS_GATEWAY_KEY
        self.secret = secret if secret is not None else settings.SMS_GATEWAY_SECRET
        self.sign_name = sign_name if sign_name is not None else settings.SMS_SIGN_NAME
        self.templates = templates if templates is not None else settings.SMS_GATEWAY_TEMPLATES
        self.timeout = timeout or settings.SMS_GATEWAY_TIMEOUT
        if not self.url:
            raise ValueError("SMS_GATEWAY_URL is not set")

    def body(self, message: SmsMessage, *, timestamp: int, nonce: str) -> bytes:
        payload = {
            "phone": message.to,
            "sign_name": self.sign_name,
            "template_code": self.templates.get(message.template, message.template),
            "template_param": message.params,
            "timestamp": timestamp,
            "nonce": nonce,
        }
        return json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")

    def signature(self, body: bytes) -> str:
        return hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()

    def send(self, message: SmsMessage) -> SmsResult:
        body = self.body(message, timestamp=int(time.time()), nonce=secrets.token_hex(8))
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "X-Api-Key": self.key,
                "X-Signature": self.signature(body),
            },
        )
        answer = _json_answer(request, timeout=self.timeout, json_errors=False)
        if isinstance(answer, SmsResult):
            return answer
        if answer.get("code") == "OK":
            return SmsResult(ok=True, provider_id=str(answer.get("message_id", ""))[:64])
        return SmsResult(ok=False, error=f"{answer.get('code', '?')}: {answer.get('message', '')}"[:250])


class AliyunSmsBackend(HttpGatewaySmsBackend):
    """Alibaba Cloud SMS (Dysmsapi ``SendSms``, RPC API version 2017-05-25) with the same settings: the URL (default
    ``https://dysmsapi.aliyuncs.com/``), AccessKey id and secret, sign name and template codes.

    The request is a form POST signed as the RPC API asks: HMAC-SHA1 with ``secret + "&"`` over
    ``POST&%2F&<percent-encoded sorted query>``, base64; the answer is JSON ``{"Code": "OK", "BizId": …}`` or
    another ``Code`` with a ``Message``.
    """

    DEFAULT_URL = "https://dysmsapi.aliyuncs.com/"

    def __init__(self, **kwargs):
        kwargs.setdefault("url", settings.SMS_GATEWAY_URL or self.DEFAULT_URL)
        super().__init__(**kwargs)

    @staticmethod
    def encode(value: str) -> str:
        return urllib.parse.quote(str(value), safe="~")

    def signed_params(self, message: SmsMessage, *, timestamp: str, nonce: str) -> dict:
        params = {
            "AccessKeyId": self.key,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": message.to,
            "RegionId": "cn-hangzhou",
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce,
            "SignatureVersion": "1.0",
            "TemplateCode": self.templates.get(message.template, message.template),
            "TemplateParam": json.dumps(message.params, ensure_ascii=False, separators=(",", ":"), sort_keys=True),
            "Timestamp": timestamp,
            "Version": "2017-05-25",
        }
        return {**params, "Signature": self.sign(params)}

    def sign(self, params: dict, *, method: str = "POST") -> str:
        query = "&".join(f"{self.encode(k)}={self.encode(v)}" for k, v in sorted(params.items()))
        to_sign = f"{method}&{self.encode('/')}&{self.encode(query)}"
        digest = hmac.new(f"{self.secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
        return base64.b64encode(digest).decode()

    def send(self, message: SmsMessage) -> SmsResult:
        timestamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        params = self.signed_params(message, timestamp=timestamp, nonce=secrets.token_hex(16))
        request = urllib.request.Request(
            self.url,
            data=urllib.parse.urlencode(params).encode(),
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        # Alibaba answers refusals with an HTTP error whose body is the JSON that says why.
        answer = _json_answer(request, timeout=self.timeout, json_errors=True)
        if isinstance(answer, SmsResult):
            return answer
        if answer.get("Code") == "OK":
            return SmsResult(ok=True, provider_id=str(answer.get("BizId", ""))[:64])
        return SmsResult(ok=False, error=f"{answer.get('Code', '?')}: {answer.get('Message', '')}"[:250])


def get_sms_backend(path: str | None = None, **kwargs) -> BaseSmsBackend:
    """The configured backend: ``SMS_BACKEND`` is a dotted path or a short name (console, filebased, locmem, http)."""
    path = path or settings.SMS_BACKEND
    path = SHORT_NAMES.get(path, path)
    return import_string(path)(**kwargs)


SHORT_NAMES = {
    "console": "online.messaging.ConsoleSmsBackend",
    "filebased": "online.messaging.FileSmsBackend",
    "locmem": "online.messaging.LocmemSmsBackend",
    "http": "online.messaging.HttpGatewaySmsBackend",
    "aliyun": "online.messaging.AliyunSmsBackend",
}


def mask_email(address: str) -> str:
    """``zhang.san@example.com`` → ``z***@example.com`` (for pages, logs and the message record)."""
    local, at, domain = (address or "").partition("@")
    if not at:
        return "***" if address else ""
    return f"{local[:1]}***@{domain}"


# --- Sending: texts, the queue, the record ------------------------------------------------------------------------

logger = logging.getLogger("csm.online")

TEXTS = {
    "invitation": "{name}您好，{project}诚邀您参加“{survey}”，约3分钟：{url} 不再接收请点 {stop}",
    "reminder": "{name}您好，“{survey}”尚未收到您的答卷，期待您的意见：{url} 不再接收请点 {stop}",
}
SUBJECTS = {"invitation": "诚邀您参加{survey}", "reminder": "提醒：{survey}期待您的意见"}


def recipient_of(owner, channel: str, *, masked: bool = False) -> str:
    """The owner's phone (sms) or e-mail (email) on file, masked for the record if asked; "" when there is none
    (an anonymised owner has none, whatever is left over)."""
    if owner.anonymised_at is not None:
        return ""
    if channel == "sms":
        phone = (owner.phone or "").strip()
        return mask_phone(phone) if masked and phone else phone
    try:
        email = owner.messaging.email
    except ObjectDoesNotExist:
        email = ""
    return mask_email(email) if masked else email


def message_params(invitation, *, base: str | None = None) -> dict:
    """What a template is filled with: a masked name, the project, the wave, the personal link and the stop link."""
    from online.qr import mask_name
    from online.services import invitation_url, site_url

    owner = invitation.owner
    return {
        "name": f"{mask_name(owner.name)}业主" if owner.name else "业主",
        "project": owner.project.name,
        "survey": invitation.survey.name,
        "url": invitation_url(invitation, base),
        "stop": site_url(base) + reverse("online:stop", args=[invitation.token]),
    }


def owner_opted_out(owner) -> bool:
    from online.models import OwnerMessaging

    return OwnerMessaging.objects.filter(owner=owner, opted_out_at__isnull=False).exists()


def owner_opt_out(*, owner, now: datetime) -> None:
    """The owner asked for no more survey messages (the stop link): every queued one is skipped from now on."""
    from online.models import OwnerMessaging

    messaging, _created = OwnerMessaging.objects.get_or_create(owner=owner)
    if messaging.opted_out_at is None:
        messaging.opted_out_at = now
        messaging.save(update_fields=["opted_out_at"])


def invitations_send(*, survey, owners, channel: str, now: datetime, by=None) -> dict:
    """Issue (or reuse) each owner's link and queue an invitation by ``channel``; delivery follows on commit.

    Owners who answered already, opted out, or have no phone / e-mail on file are counted and skipped; at night the
    messages wait until 09:00 (``next_send_at``). Returns counts: queued, answered, opted_out, no_address.
    """
    from online.models import MessageStatus, MessageTemplate, OutboundMessage, OwnerMessaging
    from online.reminders import next_send_at
    from online.services import invitations_issue
    from surveys.models import Response

    owners = list(owners)
    if channel != "sms":
        prefetch_related_objects(owners, "messaging")  # one query for every owner's e-mail, not one each
    answered = set(Response.objects.filter(survey=survey, owner__in=owners).values_list("owner_id", flat=True))
    opted_out = set(
        OwnerMessaging.objects.filter(owner__in=owners, opted_out_at__isnull=False).values_list("owner_id", flat=True)
    )
    counts = {"queued": 0, "answered": 0, "opted_out": 0, "no_address": 0, "pending": 0}
    wanted = []
    for owner in owners:
        if owner.pk in answered:
            counts["answered"] += 1
        elif owner.pk in opted_out:
            counts["opted_out"] += 1
        elif not recipient_of(owner, channel):
            counts["no_address"] += 1
        else:
            wanted.append(owner)
    user = by if getattr(by, "pk", None) else None
    owner_by_id = {owner.pk: owner for owner in wanted}
    with transaction.atomic():
        _wave_send_lock(survey.pk)
        pending = set(
            OutboundMessage.objects.filter(
                survey=survey, owner__in=wanted, template=MessageTemplate.INVITATION,
                status__in=[MessageStatus.QUEUED, MessageStatus.SENDING],
            ).values_list("owner_id", flat=True)
        )
        invitations = invitations_issue(survey=survey, owners=[o for o in wanted if o.pk not in pending], by=by, now=now)
        OutboundMessage.objects.bulk_create(
            [
                OutboundMessage(
                    invitation=invitation, survey=survey, owner_id=invitation.owner_id, channel=channel,
                    template=MessageTemplate.INVITATION,
                    recipient=recipient_of(owner_by_id[invitation.owner_id], channel, masked=True),
                    created_at=now, not_before=next_send_at(now), created_by=user,
                )
                for invitation in invitations
            ],
            batch_size=500,
        )
        # Robust: with the broker away the messages stay queued and the beat's next run sends them.
        transaction.on_commit(_deliver_soon, robust=True)
    counts["queued"] = len(invitations)
    counts["pending"] = len(pending)
    return counts


STALE_SENDING = timedelta(minutes=15)
SEND_LOCK_NAMESPACE = 0x4353_4D31  # "CSM1": this app's advisory locks, apart from any other's


def _wave_send_lock(survey_id: int) -> None:
    """One send per wave at a time (a double click, two staff at once): the second waits for the first's commit
    and then sees its messages as pending. A PostgreSQL advisory lock for the transaction, not the wave's row,
    which every answer locks (an owner answering must not wait for a send). SQLite writes one at a time anyway."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [SEND_LOCK_NAMESPACE, survey_id])


def _deliver_soon() -> None:
    from online.tasks import send_due_messages

    send_due_messages.delay()


def _skip_reason(message) -> str:
    """Why a queued message must not go out now (checked again at sending), or "" when it may."""
    from surveys.models import Response

    invitation = message.invitation
    if invitation.revoked_at is not None:
        return "链接已作废"
    if invitation.survey.closed_at is not None:
        return "调查已关闭"
    if owner_opted_out(message.owner):
        return "业主已退订"
    if invitation.answered_at is not None or Response.objects.filter(
        survey_id=message.survey_id, owner_id=message.owner_id
    ).exists():
        return "业主已答卷"
    if not recipient_of(message.owner, message.channel):
        return "无联系方式"
    return ""


def messages_deliver(*, now: datetime, backend: BaseSmsBackend | None = None, limit: int = 500) -> dict:
    """Send up to ``limit`` queued messages whose time has come, unless it is night; record each outcome.

    Each message is claimed by a conditional UPDATE (queued → sending) before it is sent, so two workers never
    send the same one; the rules are checked again at sending, since an owner may have answered or opted out meanwhile.
    """
    from online.models import MessageChannel, MessageStatus, OutboundMessage
    from online.reminders import quiet_hours

    counts = {"sent": 0, "failed": 0, "skipped": 0}
    # A worker that died while sending left its message "sending": whether it went out is unknown, so it is not
    # sent again; it is closed as failed, which frees the owner's next reminder.
    OutboundMessage.objects.filter(status=MessageStatus.SENDING, sent_at__lt=now - STALE_SENDING).update(
        status=MessageStatus.FAILED, error="发送中断，结果未知", sent_at=None
    )
    if quiet_hours(now):
        return counts
    due = (
        OutboundMessage.objects.filter(status=MessageStatus.QUEUED, not_before__lte=now)
        .select_related("invitation", "invitation__survey", "owner", "owner__project", "owner__messaging")
        .order_by("not_before", "id")[:limit]
    )
    sms = None
    for message in due:
        # Claimed before sending: of two workers reaching the same message, one sends it and the other moves on.
        if not OutboundMessage.objects.filter(pk=message.pk, status=MessageStatus.QUEUED).update(
            status=MessageStatus.SENDING, sent_at=now  # the attempt's time until the outcome is known
        ):
            continue
        outcome, error, provider_id = MessageStatus.SKIPPED, _skip_reason(message), ""
        if not error:
            message.invitation.owner = message.owner  # already loaded, with its project
            params = message_params(message.invitation)
            text = TEXTS[message.template].format(**params)
            to = recipient_of(message.owner, message.channel)
            if message.channel == MessageChannel.SMS:
                sms = sms or backend or get_sms_backend()
                result = sms.send(SmsMessage(to=to, text=text, template=message.template, params=params))
                outcome = MessageStatus.SENT if result.ok else MessageStatus.FAILED
                error, provider_id = result.error, result.provider_id
            else:
                try:
                    send_mail(SUBJECTS[message.template].format(**params), text, None, [to])
                    outcome = MessageStatus.SENT
                except Exception as failure:  # noqa: BLE001 - any transport error is this message's outcome
                    outcome, error = MessageStatus.FAILED, f"{type(failure).__name__}"
        OutboundMessage.objects.filter(pk=message.pk).update(
            status=outcome, error=mask_phones(error)[:255], provider_id=provider_id[:64],
            sent_at=now if outcome == MessageStatus.SENT else None,
        )
        counts[str(outcome)] += 1
        logger.info(
            "owner message id=%s owner=%s %s/%s %s %s", message.pk, message.owner_id, message.channel,
            message.template, outcome, message.recipient,
        )
    return counts


def anonymised_contacts_scrub() -> int:
    """Blank the e-mail addresses of owners anonymised since (``owners_anonymise`` lives below this app and cannot
    reach them); the beat's messaging run calls it, so an address outlives its owner's anonymisation by minutes."""
    from online.models import OwnerMessaging

    return OwnerMessaging.objects.filter(owner__anonymised_at__isnull=False).exclude(email="").update(email="")


def _json_answer(request: urllib.request.Request, *, timeout: float, json_errors: bool) -> dict | SmsResult:
    """POST ``request`` and read the gateway's JSON object, or the failed SmsResult that says why not. With
    ``json_errors`` an HTTP error whose body is JSON is read like an answer (the gateway explains its refusal there)."""
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310 - URL from settings
            raw = reply.read()
    except urllib.error.HTTPError as error:
        raw = (error.read() or b"") if json_errors else b""
        if not raw.strip().startswith(b"{"):
            return SmsResult(ok=False, error=f"HTTP {error.code}")
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        return SmsResult(ok=False, error=f"网关不可达：{type(error).__name__}")
    try:
        answer = json.loads(raw)
    except ValueError:
        return SmsResult(ok=False, error="网关应答不是 JSON")
    if not isinstance(answer, dict):
        return SmsResult(ok=False, error="网关应答不是 JSON 对象")
    return answer
