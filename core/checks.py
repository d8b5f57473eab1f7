"""Deployment checks of our own, run by ``manage.py check --deploy`` beside Django's."""

from django.conf import settings
from django.core.checks import Error, Tags, register

# Backends that keep mail on the machine: a password-reset link printed to stdout ends up in the web log.
LOCAL_MAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
}


@register(Tags.security, deploy=True)
def mail_leaves_the_machine(app_configs, **kwargs):
    if settings.DEBUG or settings.EMAIL_BACKEND not in LOCAL_MAIL_BACKENDS:
        return []
    return [
        Error(
            f"EMAIL_BACKEND is {settings.EMAIL_BACKEND} with DEBUG off: password-reset links would be printed or "
            "kept on this machine instead of mailed.",
            hint="Set EMAIL_HOST (and EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS, "
            "DEFAULT_FROM_EMAIL): mail then goes out by SMTP.",
            id="csm.E001",
        )
    ]


# SMS backends that print owners' personal links to the web log (console) or drop them (locmem). The file backend
# is allowed: it keeps messages on the machine on purpose, until a gateway is configured.
LOG_OR_DROP_SMS_BACKENDS = {"console", "locmem", "online.messaging.ConsoleSmsBackend", "online.messaging.LocmemSmsBackend"}


@register(Tags.security, deploy=True)
def sms_does_not_go_to_the_log(app_configs, **kwargs):
    backend = getattr(settings, "SMS_BACKEND", "")
    if settings.DEBUG or backend not in LOG_OR_DROP_SMS_BACKENDS:
        return []
    return [
        Error(
            f"SMS_BACKEND is {backend} with DEBUG off: owners' personal survey links would be printed to the log or "
            "dropped instead of sent.",
            hint="Set SMS_BACKEND=aliyun (or http) with SMS_GATEWAY_KEY, SMS_GATEWAY_SECRET, SMS_SIGN_NAME and the "
            "SMS_TEMPLATE_* codes; or leave it at filebased until a gateway is contracted.",
            id="csm.E002",
        )
    ]
