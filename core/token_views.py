"""The token endpoints of the API: log in for a token, log the token out."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import parsers, serializers, status
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.models import ApiToken
from core.tokens import DEFAULT_CLIENT, ApiTokenAuthentication, api_token_issue, api_tokens_revoke


class TokenRequestSerializer(AuthTokenSerializer):
    username = serializers.CharField(label="用户名", max_length=150, write_only=True)
    password = serializers.CharField(
        label="密码", max_length=128, style={"input_type": "password"}, trim_whitespace=False, write_only=True
    )
    client = serializers.RegexField(
        r"^[\w.\-]{1,64}$",
        max_length=64,
        required=False,
        default=DEFAULT_CLIENT,
        help_text="客户端名称（字母、数字、. _ -）：同一客户端再次获取令牌时，旧令牌作废。",
    )


TokenAnswer = inline_serializer(
    "TokenResponse",
    {
        "token": serializers.CharField(help_text="以 Authorization: Token … 发送；只显示这一次"),
        "client": serializers.CharField(),
        "expires_at": serializers.DateTimeField(),
    },
)


class TokenView(APIView):
    """Exchange a username and password for an API token (send it as ``Authorization: Token …``)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []
    # A login form may post as a browser does; the body is at most TOKEN_MAX_BODY_BYTES (core/request_limits.py).
    parser_classes = [parsers.JSONParser, parsers.FormParser, parsers.MultiPartParser]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: TokenAnswer, 400: OpenApiResponse(description="用户名或密码错误")},
        auth=[],
    )
    def post(self, request):
        # Authenticate with Django's own request: axes marks a lockout on it, and its middleware then answers 429.
        serializer = TokenRequestSerializer(data=request.data, context={"request": request._request})
        serializer.is_valid(raise_exception=True)
        user, client = serializer.validated_data["user"], serializer.validated_data["client"]
        token, record = api_token_issue(user=user, client=client)
        return Response({"token": token, "client": record.client, "expires_at": record.expires_at})


class TokenLogoutView(APIView):
    """End the token this request was sent with."""

    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        if isinstance(request.auth, ApiToken):
            api_tokens_revoke(user=request.user, token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)
