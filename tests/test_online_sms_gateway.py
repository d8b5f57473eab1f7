"""The SMS backends: console and file write what they should, the HTTP gateway adapter signs and posts to a
(local, fake) gateway and turns its answers and failures into results; no phone number leaks into an error."""

import hashlib
import hmac
import io
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from online import messaging
from online.messaging import (
    ConsoleSmsBackend,
    FileSmsBackend,
    HttpGatewaySmsBackend,
    LocmemSmsBackend,
    SmsMessage,
    get_sms_backend,
    mask_email,
)

MESSAGE = SmsMessage(to="13812345678", text="张*业主您好 http://x/o/abc/", template="invitation", params={"url": "http://x/o/abc/"})


class FakeGateway:
    """A gateway on 127.0.0.1 at a random port that records each request and answers what the test set."""

    def __init__(self):
        self.requests = []
        self.status = 200
        self.reply = {"code": "OK", "message_id": "m-1"}
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                raw = gateway.reply if isinstance(gateway.reply, bytes) else json.dumps(gateway.reply).encode()
                self.send_response(gateway.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway():
    with FakeGateway() as fake:
        yield fake


def backend_for(gateway, **extra):
    return HttpGatewaySmsBackend(
        url=gateway.url, key="key-1", secret="s3cret", sign_name="翡翠物业",
        templates={"invitation": "SMS_0001", "reminder": "SMS_0002"}, timeout=5, **extra,
    )


def test_the_gateway_gets_a_signed_json_post_with_template_sign_name_and_parameters(gateway):
    result = backend_for(gateway).send(MESSAGE)
    assert result.ok and result.provider_id == "m-1"
    [request] = gateway.requests
    assert request["path"] == "/sms/send"
    body = json.loads(request["body"])
    assert body["phone"] == "13812345678"
    assert body["sign_name"] == "翡翠物业"
    assert body["template_code"] == "SMS_0001"
    assert body["template_param"] == {"url": "http://x/o/abc/"}
    assert request["headers"]["X-Api-Key"] == "key-1"
    expected = hmac.new(b"s3cret", request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-Signature"] == expected
    assert b"s3cret" not in request["body"]


def test_a_refusal_by_the_gateway_is_a_failed_result_with_its_code(gateway):
    gateway.reply = {"code": "isv.BUSINESS_LIMIT_CONTROL", "message": "触发流控"}
    result = backend_for(gateway).send(MESSAGE)
    assert not result.ok
    assert result.error == "isv.BUSINESS_LIMIT_CONTROL: 触发流控"


def test_an_http_error_and_a_non_json_answer_are_failures_not_exceptions(gateway):
    gateway.status = 502
    assert backend_for(gateway).send(MESSAGE).error == "HTTP 502"
    gateway.status, gateway.reply = 200, b"<html>oops</html>"
    assert backend_for(gateway).send(MESSAGE).error == "网关应答不是 JSON"


def test_an_unreachable_gateway_is_a_failure_that_names_no_phone():
    with FakeGateway() as fake:
        url = fake.url
    result = HttpGatewaySmsBackend(url=url, key="k", secret="s", sign_name="x", templates={}, timeout=2).send(MESSAGE)
    assert not result.ok and result.error.startswith("网关不可达")
    assert "5678" not in result.error


def test_the_http_backend_is_configured_from_settings(settings, gateway):
    settings.SMS_BACKEND = "http"
    settings.SMS_GATEWAY_URL = gateway.url
    settings.SMS_GATEWAY_KEY, settings.SMS_GATEWAY_SECRET = "env-key", "env-secret"
    settings.SMS_SIGN_NAME = "环境签名"
    settings.SMS_GATEWAY_TEMPLATES = {"invitation": "SMS_9", "reminder": "SMS_10"}
    backend = get_sms_backend()
    assert isinstance(backend, HttpGatewaySmsBackend)
    assert backend.send(MESSAGE).ok
    body = json.loads(gateway.requests[0]["body"])
    assert (body["sign_name"], body["template_code"]) == ("环境签名", "SMS_9")
    assert gateway.requests[0]["headers"]["X-Signature"] == hmac.new(
        b"env-secret", gateway.requests[0]["body"], hashlib.sha256
    ).hexdigest()


def test_the_http_backend_refuses_to_start_without_a_url(settings):
    settings.SMS_GATEWAY_URL = ""
    with pytest.raises(ValueError, match="SMS_GATEWAY_URL"):
        get_sms_backend("http")


def test_the_console_backend_prints_the_text_with_the_phone_masked():
    stream = io.StringIO()
    assert ConsoleSmsBackend(stream=stream).send(MESSAGE).ok
    printed = stream.getvalue()
    assert "138****5678" in printed and "13812345678" not in printed
    assert "http://x/o/abc/" in printed


def test_the_file_backend_writes_one_json_file_per_message(tmp_path, settings):
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    backend = get_sms_backend("filebased")
    assert isinstance(backend, FileSmsBackend)
    backend.send(MESSAGE)
    backend.send(MESSAGE)
    files = sorted((tmp_path / "sms").glob("*.json"))
    assert len(files) == 2
    assert json.loads(files[0].read_text(encoding="utf-8"))["template"] == "invitation"


def test_files_are_the_default_and_a_dotted_path_or_short_name_chooses_another():
    from django.conf import settings as real

    if "SMS_BACKEND" not in os.environ:
        assert real.SMS_BACKEND == "filebased"
    messaging.outbox.clear()
    assert isinstance(get_sms_backend("online.messaging.LocmemSmsBackend"), LocmemSmsBackend)
    get_sms_backend("locmem").send(MESSAGE)
    assert messaging.outbox == [MESSAGE]
    messaging.outbox.clear()


def test_e_mail_addresses_are_masked_for_the_record():
    assert mask_email("zhang.san@example.com") == "z***@example.com"
    assert mask_email("") == ""


def aliyun_signature(params: dict, secret: str) -> str:
    """Alibaba Cloud's RPC signature, written out from its documentation (independently of the backend's code)."""
    import base64
    from urllib.parse import quote

    def enc(text):
        return quote(text, safe="").replace("+", "%20").replace("*", "%2A").replace("%7E", "~")

    canonical = "&".join(f"{enc(k)}={enc(params[k])}" for k in sorted(params))
    string_to_sign = "POST&%2F&" + enc(canonical)
    return base64.b64encode(hmac.new((secret + "&").encode(), string_to_sign.encode(), hashlib.sha1).digest()).decode()


def test_the_aliyun_adapter_posts_a_correctly_signed_sendsms_request(gateway, settings):
    from urllib.parse import parse_qs

    from online.messaging import AliyunSmsBackend

    settings.SMS_GATEWAY_URL = gateway.url
    settings.SMS_GATEWAY_KEY, settings.SMS_GATEWAY_SECRET = "LTAI-test", "secret*with~odd chars"
    settings.SMS_SIGN_NAME = "翡翠物业"
    settings.SMS_GATEWAY_TEMPLATES = {"invitation": "SMS_154950909", "reminder": "SMS_154950910"}
    gateway.reply = {"Code": "OK", "BizId": "900619746936498440^0", "Message": "OK", "RequestId": "r-1"}
    backend = get_sms_backend("aliyun")
    assert isinstance(backend, AliyunSmsBackend)
    result = backend.send(MESSAGE)
    assert result.ok and result.provider_id == "900619746936498440^0"
    [request] = gateway.requests
    assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    form = {key: values[0] for key, values in parse_qs(request["body"].decode(), keep_blank_values=True).items()}
    signature = form.pop("Signature")
    assert signature == aliyun_signature(form, "secret*with~odd chars")
    assert form["Action"] == "SendSms" and form["Version"] == "2017-05-25"
    assert form["PhoneNumbers"] == "13812345678" and form["SignName"] == "翡翠物业"
    assert form["TemplateCode"] == "SMS_154950909" and json.loads(form["TemplateParam"]) == {"url": "http://x/o/abc/"}
    assert form["AccessKeyId"] == "LTAI-test" and "secret" not in request["body"].decode()


def test_the_aliyun_adapter_reports_a_refusal_with_its_code(gateway):
    from online.messaging import AliyunSmsBackend

    gateway.status = 400
    gateway.reply = {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控Permits:1"}
    backend = AliyunSmsBackend(url=gateway.url, key="k", secret="s", sign_name="x", templates={}, timeout=5)
    result = backend.send(MESSAGE)
    assert not result.ok and result.error == "isv.BUSINESS_LIMIT_CONTROL: 触发分钟级流控Permits:1"


# Alibaba Cloud's own worked example of a SendSms signature (its "签名机制" documentation, GET variant).
DOCUMENTED = {
    "AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123", "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用", "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466", "SignatureVersion": "1.0", "TemplateCode": "SMS_71390007",
    "TemplateParam": '{"customer":"test"}', "Timestamp": "2017-07-12T02:42:19Z", "Version": "2017-05-25",
}


def test_the_aliyun_signature_matches_the_providers_worked_example():
    from online.messaging import AliyunSmsBackend

    backend = AliyunSmsBackend(url="http://127.0.0.1:9/", key="testId", secret="testSecret", sign_name="", templates={})
    assert backend.sign(DOCUMENTED, method="GET") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    assert aliyun_signature(DOCUMENTED, "testSecret") != backend.sign(DOCUMENTED, method="GET")  # POST ≠ GET
