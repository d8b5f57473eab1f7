"""API endpoints of surveys, questions, responses and imports. Thin: scope from selectors, writes via services."""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, parsers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response as ApiResponse

from core.api import IntegerFilter
from core.permissions import predicate_permission
from departments.permissions import EntersData, ReadAnyRoleWriteDataEntry
from departments.selectors import user_may_enter_data
from owners.stages import Stage
from surveys.models import ImportJob, Question, Response, Survey
from surveys.selectors import (
    imports_visible_to,
    questions_visible_to,
    responses_visible_to,
    surveys_visible_to,
    user_may_see_responses,
)
from surveys.serializers import (
    IMPORT_UPLOAD_SCHEMA,
    ImportJobSerializer,
    ImportJobSummarySerializer,
    ImportUploadSerializer,
    QuestionSerializer,
    ResponseSerializer,
    SurveySerializer,
)
from surveys.services import response_submit, survey_create

# Raw responses: company-wide roles read; brand-service staff write.
SeesResponses = predicate_permission(
    "SeesResponses", read=user_may_see_responses, write=user_may_enter_data,
    message="答卷明细仅限品牌客服、管理层和满意度管理小组查看。",
)


class SurveyFilter(django_filters.FilterSet):
    code = django_filters.CharFilter()
    source = django_filters.ChoiceFilter(choices=Survey.Source.choices)

    class Meta:
        model = Survey
        fields = ["code", "source"]


class SurveyViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """调查 (survey waves). Brand-service staff create one with its questionnaire's questions."""

    serializer_class = SurveySerializer
    permission_classes = [ReadAnyRoleWriteDataEntry]
    filterset_class = SurveyFilter

    def get_queryset(self):
        return surveys_visible_to(self.request.user)

    def perform_create(self, serializer):
        serializer.instance = survey_create(**serializer.validated_data)


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
    questionnaire_no = django_filters.CharFilter()
    owner = IntegerFilter(field_name="owner_id")

    class Meta:
        model = Response
        fields = ["survey", "project", "stage", "questionnaire_no", "owner"]


class ResponseViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """问卷答卷 (responses). POST saves one questionnaire (an owner's existing response in the survey is updated)."""

    serializer_class = ResponseSerializer
    permission_classes = [SeesResponses]
    filterset_class = ResponseFilter

    def get_queryset(self):
        return responses_visible_to(self.request.user)

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
