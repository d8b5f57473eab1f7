"""API endpoints of surveys, questions, responses and imports. Thin: scope from selectors, writes via services."""

import django_filters
from django.db.models import Prefetch, Q
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, parsers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response as ApiResponse

from core.api import IntegerFilter
from core.permissions import predicate_permission
from departments.permissions import EntersData, ReadAnyRoleWriteDataEntry
from departments.selectors import user_may_enter_data
from owners.stages import Stage
from surveys.models import Channel, ImportJob, Question, Questionnaire, Response, ResponseComment, Survey
from surveys.selectors import (
    ResponseQuery,
    imports_visible_to,
    questionnaires_in_order,
    questions_visible_to,
    responses_filter,
    responses_visible_to,
    series_in_order,
    surveys_visible_to,
    user_may_see_responses,
)
from surveys.serializers import (
    IMPORT_UPLOAD_SCHEMA,
    ImportJobSerializer,
    ImportJobSummarySerializer,
    ImportUploadSerializer,
    QuestionnaireSerializer,
    QuestionSerializer,
    ResponseSerializer,
    SurveySerializer,
    SurveySeriesSerializer,
)
from surveys.services import response_submit, survey_close, survey_create, survey_reopen, survey_update

# Raw responses: company-wide roles read; brand-service staff write.
SeesResponses = predicate_permission(
    "SeesResponses", read=user_may_see_responses, write=user_may_enter_data,
    message="答卷明细仅限品牌客服、管理层和满意度管理小组查看。",
)


class SurveyFilter(django_filters.FilterSet):
    code = django_filters.CharFilter()
    source = django_filters.ChoiceFilter(choices=Survey.Source.choices)
    series = django_filters.CharFilter(field_name="series__code", help_text="系列编码")
    closed = django_filters.BooleanFilter(field_name="closed_at", lookup_expr="isnull", exclude=True,
                                          help_text="true = 已关闭，false = 进行中")

    class Meta:
        model = Survey
        fields = ["code", "source", "series", "closed"]


class SurveyViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """调查 (survey waves). Brand-service staff create and change them, and close or reopen them; a closed wave
    takes no new or changed response from any path."""

    serializer_class = SurveySerializer
    permission_classes = [ReadAnyRoleWriteDataEntry]
    filterset_class = SurveyFilter

    def get_queryset(self):
        return (
            surveys_visible_to(self.request.user)
            .select_related("series", "questionnaire", "closed_by")
            .prefetch_related("target_projects")
        )

    def perform_create(self, serializer):
        serializer.instance = survey_create(**serializer.service_arguments())

    def perform_update(self, serializer):
        serializer.instance = survey_update(survey=serializer.instance, **serializer.service_arguments())

    @extend_schema(request=None, responses={200: SurveySerializer})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """Close the wave: every path then refuses new and changed responses."""
        survey = survey_close(survey=self.get_object(), user=request.user)
        return ApiResponse(self.get_serializer(self.get_queryset().get(pk=survey.pk)).data)

    @extend_schema(request=None, responses={200: SurveySerializer})
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        """Open a closed wave again."""
        survey = survey_reopen(survey=self.get_object())
        return ApiResponse(self.get_serializer(self.get_queryset().get(pk=survey.pk)).data)


class SurveySeriesViewSet(viewsets.ReadOnlyModelViewSet):
    """调查系列 (series): the waves whose changes are compared with each other."""

    serializer_class = SurveySeriesSerializer
    permission_classes = [ReadAnyRoleWriteDataEntry]
    pagination_class = None

    def get_queryset(self):
        return series_in_order()


class QuestionnaireFilter(django_filters.FilterSet):
    code = django_filters.CharFilter()

    class Meta:
        model = Questionnaire
        fields = ["code"]


class QuestionnaireViewSet(viewsets.ReadOnlyModelViewSet):
    """问卷 (questionnaire versions) with their items; a frozen version is asked by a wave with responses."""

    serializer_class = QuestionnaireSerializer
    permission_classes = [ReadAnyRoleWriteDataEntry]
    filterset_class = QuestionnaireFilter

    def get_queryset(self):
        return questionnaires_in_order().prefetch_related("items")


class QuestionFilter(django_filters.FilterSet):
    survey = django_filters.CharFilter(field_name="survey__code", help_text="调查编码")
    kind = django_filters.ChoiceFilter(choices=Question.Kind.choices)
    port = django_filters.CharFilter()

    class Meta:
        model = Question
        fields = ["survey", "kind", "port"]


class QuestionViewSet(viewsets.ReadOnlyModelViewSet):
    """题目 (questions), in answer order."""

    serializer_class = QuestionSerializer
    permission_classes = [ReadAnyRoleWriteDataEntry]
    filterset_class = QuestionFilter

    def get_queryset(self):
        return questions_visible_to(self.request.user)


class ResponseFilter(django_filters.FilterSet):
    survey = django_filters.CharFilter(field_name="survey__code", help_text="调查编码")
    project = django_filters.CharFilter(field_name="project__code", help_text="楼盘编码")
    stage = django_filters.ChoiceFilter(choices=Stage.choices)
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    questionnaire_no = django_filters.CharFilter()
    owner = IntegerFilter(field_name="owner_id")
    item = django_filters.CharFilter(method="filter_noop", max_length=64,
                                     help_text="评分题编码，与 min_score / max_score 一起使用；缺省 overall。未指定 survey 时在含该题的各次调查中筛选")
    min_score = IntegerFilter(method="filter_noop", min_value=1, max_value=5, help_text="该题最低分（含），1–5")
    max_score = IntegerFilter(method="filter_noop", min_value=1, max_value=5, help_text="该题最高分（含），1–5")
    comment = django_filters.CharFilter(method="filter_noop", max_length=100, help_text="开放意见中包含的文字")

    class Meta:
        model = Response
        fields = ["survey", "project", "stage", "channel", "questionnaire_no", "owner"]

    def filter_noop(self, queryset, name, value):
        return queryset  # applied together in filter_queryset (a score range needs the survey's questions)

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        item, low, high, comment = data.get("item"), data.get("min_score"), data.get("max_score"), data.get("comment")
        if not (item or low is not None or high is not None or comment):
            return queryset
        if comment and not (item or low is not None or high is not None):
            return queryset.filter(comment_texts_contain(comment))
        for name, value in (("min_score", low), ("max_score", high)):
            if value is not None and not (1 <= value <= 5 and value == int(value)):
                raise ValidationError({name: "分数必须是 1–5 的整数"})
        query = ResponseQuery(
            item=item or "overall",
            min_score=int(low) if low is not None else None,
            max_score=int(high) if high is not None else None,
            comment=comment or "",
        )
        # The item's place in the answer string is each survey's own: filter survey by survey and join the results.
        code = data.get("survey")
        surveys = Survey.objects.filter(code=code) if code else Survey.objects.filter(
            pk__in=queryset.values("survey_id"), questions__code=query.item
        )
        matched = Q(pk__in=[])
        for survey in surveys.distinct().order_by("pk"):
            try:
                ids = responses_filter(queryset.filter(survey=survey), survey=survey, query=query).values("pk")
            except ValueError:
                raise ValidationError({"item": f"调查“{survey.code}”中不存在评分题“{query.item}”"}) from None
            matched |= Q(pk__in=ids)
        return queryset.filter(matched)


def comment_texts_contain(text: str):
    from django.db.models import Exists, OuterRef

    return Exists(ResponseComment.objects.filter(response=OuterRef("pk"), text__icontains=text))


class ResponseViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """问卷答卷 (responses). POST saves one questionnaire (an owner's existing response in the survey is updated)."""

    serializer_class = ResponseSerializer
    permission_classes = [SeesResponses]
    filterset_class = ResponseFilter

    def get_queryset(self):
        return responses_visible_to(self.request.user).prefetch_related(
            Prefetch(
                "comments",
                queryset=ResponseComment.objects.select_related("question").order_by("question__position"),
                to_attr="prefetched_comments",
            )
        )

    @extend_schema(responses={201: ResponseSerializer, 200: ResponseSerializer})
    def create(self, request, *args, **kwargs):
        """201 for a new response; 200 when the owner had one in this survey and it was updated."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        response, created = response_submit(
            survey=data["survey"],
            owner=data["owner"],
            questionnaire_no=data["questionnaire_no"],
            surveyed_on=data["surveyed_on"],
            scores=data["scores"],
            channel=data.get("channel", ""),
            comments=data.get("comments"),
        )
        body = self.get_serializer(response).data
        return ApiResponse(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        scores = serializer.fields["scores"].to_representation(instance)
        if partial:
            scores.update(data.get("scores", {}))
        else:
            scores = data["scores"]
        response, _ = response_submit(
            survey=instance.survey,
            owner=instance.owner,
            questionnaire_no=data.get("questionnaire_no", instance.questionnaire_no),
            surveyed_on=data.get("surveyed_on", instance.surveyed_on),
            scores=scores,
            # PUT without a channel clears it (the field's default); PATCH keeps it.
            channel=data.get("channel", instance.channel),
            comments=data.get("comments"),
        )
        return ApiResponse(self.get_serializer(response).data)


class ImportJobFilter(django_filters.FilterSet):
    survey = django_filters.CharFilter(field_name="survey__code", help_text="调查编码")
    status = django_filters.ChoiceFilter(choices=ImportJob.Status.choices)
    kind = django_filters.ChoiceFilter(choices=ImportJob.Kind.choices)

    class Meta:
        model = ImportJob
        fields = ["survey", "status", "kind"]


class ImportJobViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """导入 (imports): upload a file (multipart) and follow its status; errors come back row by row."""

    serializer_class = ImportJobSerializer
    permission_classes = [EntersData]
    filterset_class = ImportJobFilter
    parser_classes = [parsers.MultiPartParser, parsers.FormParser]

    def get_queryset(self):
        return imports_visible_to(self.request.user)

    def get_serializer_class(self):
        return ImportJobSummarySerializer if self.action == "list" else ImportJobSerializer

    @extend_schema(request={"multipart/form-data": IMPORT_UPLOAD_SCHEMA}, responses={202: ImportJobSerializer})
    def create(self, request, *args, **kwargs):
        from surveys.importer import upload_check
        from surveys.services import import_job_start

        upload = ImportUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        file = upload.validated_data["file"]
        data = file.read()
        problems = upload_check(file_name=file.name, data=data)
        if problems:
            raise ValidationError({"file": problems})
        job = import_job_start(
            kind=upload.validated_data["kind"],
            survey=upload.validated_data.get("survey"),
            data=data,
            file_name=file.name,
            user=request.user,
        )
        job.refresh_from_db()
        return ApiResponse(ImportJobSerializer(job, context=self.get_serializer_context()).data, status=202)
