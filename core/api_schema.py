"""The OpenAPI schema says every answer the API gives: beside each operation's own, the refusals every endpoint
shares (400 bad input, 401 no credentials, 403 no right, 404 unknown or out of scope, 413 too large, 429 locked)."""

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse

from core import text_limits

DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string", "description": "原因（中文）"}},
    "required": ["detail"],
}
# A refused body names each bad field with its messages ({"field": ["…"]}); a refused request says why ({"detail": …}).
FIELD_ERRORS = {
    "type": "object",
    "additionalProperties": True,
    "description": "字段名 → 错误信息列表；或 detail：请求本身的问题（含 NUL 字符、JSON 嵌套过深等）",
}
PUBLIC_PATHS = ("/api/v1/auth/token/",)


class ApiSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        public = self.path.startswith(PUBLIC_PATHS)
        shared = {"400": (FIELD_ERRORS, "请求无效：参数或数据有误")}
        if public:
            shared["429"] = (DETAIL, "登录失败次数过多，已锁定")
        else:
            shared["401"] = (DETAIL, "未登录或令牌无效、已过期")
            shared["403"] = (DETAIL, "当前角色无此权限")
            shared["404"] = (DETAIL, "对象不存在或不在当前用户的可见范围内")
        if self.method in ("POST", "PUT", "PATCH"):
            shared["413"] = (DETAIL, "请求内容过大")
        if self.method == "POST" and not public:
            shared["409"] = (FIELD_ERRORS, "与现有数据冲突（如同一年度、同一范围的计划已存在）")
        for code, (schema, description) in shared.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(response=schema, description=description), code, direction=direction
                )
        return responses


class CodeRelatedFieldExtension(OpenApiSerializerFieldExtension):
    """A code naming another object: a string of at most ``text_limits.CODE`` characters; an empty one means "none"
    where the field may be null (DRF reads "" as null there), else it is refused."""

    target_class = "core.api.CodeRelatedField"

    def map_serializer_field(self, auto_schema, direction):
        schema = {"type": "string", "maxLength": text_limits.CODE}
        if not self.target.allow_null:
            schema["minLength"] = 1
        return schema
