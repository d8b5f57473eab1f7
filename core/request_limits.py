"""Limits every request meets before a view sees it: body size (from Content-Length, before reading), NUL bytes
in the path, query, form or JSON body, and JSON nesting depth. A breach answers 400 or 413 with a Chinese message
(JSON under /api/), never a 500 from a driver, a parser or a worker out of memory.

Generic on purpose: a new page or endpoint gets these limits without doing anything.
"""

import logging
import re

import numpy as np
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.html import escape

logger = logging.getLogger("csm.access")

MB = 1024 * 1024
# Multipart framing around an uploaded file (boundaries, part headers, the other fields of the form).
MULTIPART_OVERHEAD = 256 * 1024
JSON_TYPE = re.compile(r"^application/([\w.+-]+\+)?json\b", re.IGNORECASE)
# A JSON string literal (unrolled loop: linear, no backtracking), whose brackets do not nest; and the \u0000 escape.
JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
JSON_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)
OPENERS, CLOSERS = np.frombuffer(b"[{", np.uint8), np.frombuffer(b"]}", np.uint8)


class Refusal(Exception):
    def __init__(self, status: int, reason: str, message: str):
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


def json_depth(body: bytes) -> int:
    """How deep arrays and objects nest in a JSON text (brackets inside strings do not count)."""
    codes = np.frombuffer(JSON_STRING.sub(b'""', body), np.uint8)
    steps = np.isin(codes, OPENERS).astype(np.int32) - np.isin(codes, CLOSERS).astype(np.int32)
    return int(np.cumsum(steps).max()) if steps.size else 0


def body_limit(request) -> tuple[int, str]:
    """The largest body this request may have, and what to say beyond it."""
    if request.path_info.startswith(settings.TOKEN_URL):
        return settings.TOKEN_MAX_BODY_BYTES, "登录请求内容过大。"
    if request.content_type == "multipart/form-data":
        mb = settings.IMPORT_MAX_BYTES // MB
        return settings.IMPORT_MAX_BYTES + MULTIPART_OVERHEAD, f"上传的文件过大：上限 {mb} MB。"
    mb = max(1, settings.DATA_UPLOAD_MAX_MEMORY_SIZE // MB)
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE, f"请求内容过大：上限 {mb} MB。"


def check_request(request) -> None:
    """Raise Refusal for a request no view should see."""
    nul = Refusal(400, "nul", "请求中含有不允许的控制字符（NUL）。")
    if "\x00" in request.path:
        raise nul
    for key, values in request.GET.lists():
        if "\x00" in key or any("\x00" in value for value in values):
            raise nul
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Refusal(400, "length", "Content-Length 无效。") from None
    limit, message = body_limit(request)
    if length > limit:
        raise Refusal(413, "size", message)
    if length == 0:
        return
    if JSON_TYPE.match(request.content_type or ""):
        body = request.body
        if b"\x00" in body or JSON_NUL_ESCAPE.search(body):
            raise nul
        if json_depth(body) > settings.JSON_MAX_DEPTH:
            raise Refusal(400, "depth", f"JSON 嵌套过深：最多 {settings.JSON_MAX_DEPTH} 层。")
    elif request.content_type == "application/x-www-form-urlencoded":
        body = request.body
        if b"\x00" in body or b"%00" in body:
            raise nul
    # Multipart bodies carry files, binary by nature (a part without a file name included): their text fields meet
    # Django's and DRF's own CharField check, which refuses a NUL with a field error.


class RequestLimitsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            check_request(request)
        except Refusal as refusal:
            return self.refuse(request, refusal)
        except RequestDataTooBig:
            return self.refuse(request, Refusal(413, "size", body_limit(request)[1]))
        except (MultiPartParserError, SuspiciousOperation):
            return self.refuse(request, Refusal(400, "malformed", "请求格式无效。"))
        return self.get_response(request)

    @staticmethod
    def refuse(request, refusal: Refusal):
        logger.warning(
            "request refused status=%s reason=%s method=%s path=%s",
            refusal.status, refusal.reason, request.method, request.path.replace("\x00", "\\0"),
        )
        if request.path_info.startswith("/api/"):
            return JsonResponse({"detail": refusal.message}, status=refusal.status)
        page = (
            '<!doctype html><html lang="zh-hans"><head><meta charset="utf-8"><title>请求被拒绝</title></head>'
            f"<body><h1>请求被拒绝</h1><p>{escape(refusal.message)}</p><p><a href=\"/\">返回首页</a></p>"
            "</body></html>"
        )
        return HttpResponse(page, status=refusal.status, content_type="text/html; charset=utf-8")
