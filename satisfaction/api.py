"""The read-only metric rows endpoint of the API.

``GET /api/v1/metrics/?survey=CODE`` returns the metric-row contract (DESIGN.md §4) as a plain JSON list,
not paginated: a survey has at most 6 × (projects + 1) × 5 rows, and tools read the whole list at once.
A department head gets the headline rows and the rows of the ports their department owns or monitors.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from departments.permissions import HasRole
from satisfaction.selectors import metric_rows_visible_to
from surveys.selectors import surveys_visible_to


class ChangeSerializer(serializers.Serializer):
    from_survey = serializers.CharField(help_text="同一系列中上一次有该切片数据的调查")
    z = serializers.FloatField(allow_null=True, help_text="非合并方差两比例 z（本次 − 上次）；无法检验时为 null")
    p_value = serializers.FloatField(allow_null=True)
    significant = serializers.BooleanField(help_text="|z| > 1.96")


class MetricRowSerializer(serializers.Serializer):
    survey = serializers.CharField()
    port = serializers.CharField(allow_null=True, help_text="null = 核心指标")
    project = serializers.CharField(allow_null=True, help_text="楼盘编码，null = 全部楼盘")
    stage = serializers.CharField(allow_null=True, help_text="业主阶段，null = 全部阶段")
    n = serializers.IntegerField()
    satisfied = serializers.IntegerField()
    satisfaction_rate = serializers.FloatField(allow_null=True)
    satisfaction_ci = serializers.ListField(child=serializers.FloatField(), allow_null=True, min_length=2, max_length=2)
    mean_score = serializers.FloatField(allow_null=True)
    loyalty_base = serializers.IntegerField(allow_null=True)
    loyal = serializers.IntegerField(allow_null=True)
    loyalty_rate = serializers.FloatField(allow_null=True)
    loyalty_ci = serializers.ListField(child=serializers.FloatField(), allow_null=True, min_length=2, max_length=2)
    weighted_rate = serializers.FloatField(allow_null=True, help_text="加权满意度（按业主总体）；未加权的调查为 null")
    weighted_ci = serializers.ListField(
        child=serializers.FloatField(), allow_null=True, min_length=2, max_length=2,
        help_text="加权满意度的 Wilson 区间（p = 加权满意度，n = 有效样本量）",
    )
    n_eff = serializers.FloatField(allow_null=True, help_text="Kish 有效样本量 (Σw)² / Σw²")
    weighted_loyalty_rate = serializers.FloatField(allow_null=True, help_text="加权忠诚度（仅核心指标行）")
    weighted_loyalty_ci = serializers.ListField(
        child=serializers.FloatField(), allow_null=True, min_length=2, max_length=2
    )
    loyalty_n_eff = serializers.FloatField(allow_null=True)
    weighted_missing_cells = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField(), min_length=2, max_length=2), allow_null=True,
        help_text="总体中有业主、本题无人作答的 [楼盘编码, 阶段] 单元（不参与加权）",
    )
    weighted_outside_cells = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField(), min_length=2, max_length=2), allow_null=True,
        help_text="有人作答但总体为 0 的单元（其答卷权重为 0）",
    )
    change = ChangeSerializer(allow_null=True, help_text="满意度较同一系列上一次调查的变化；null = 无可比数据")
    loyalty_change = ChangeSerializer(allow_null=True, help_text="忠诚度的变化（仅核心指标行）")


class MetricRowsView(APIView):
    """指标 (metric rows) of one survey, as the contract fixes them; read-only, not paginated."""

    permission_classes = [HasRole]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "survey", {"type": "string", "minLength": 1, "maxLength": 64}, required=True, description="调查编码"
            )
        ],
        responses={200: MetricRowSerializer(many=True)},
    )
    def get(self, request):
        code = request.query_params.get("survey", "").strip()
        if not code:
            raise exceptions.ValidationError({"survey": "请指定调查编码：?survey=CODE"})
        survey = get_object_or_404(surveys_visible_to(request.user), code=code)
        return Response(metric_rows_visible_to(request.user, survey=survey))

