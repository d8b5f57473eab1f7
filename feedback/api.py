"""API endpoint of feedback records (/api/v1/feedback/): scoped like the pages, writes via the services."""

import django_filters
from django.db.models import Q
from rest_framework import mixins, serializers, viewsets

from core.api import CodeRelatedField
from core.logging import mask_phones
from departments.permissions import ReadAnyRoleWriteDataEntry
from feedback.models import Feedback, FeedbackKind, FeedbackStatus
from feedback.selectors import feedback_visible_to
from feedback.services import feedback_create, feedback_update
from owners.models import Owner, Project


class FeedbackSerializer(serializers.ModelSerializer):
    project = CodeRelatedField(slug_field="code", queryset=Project.objects.order_by("id"))
    owner = serializers.PrimaryKeyRelatedField(queryset=Owner.objects.order_by("id"), required=False, allow_null=True)

    class Meta:
        model = Feedback
        fields = [
            "id", "reference", "kind", "project", "owner", "unit", "port", "received_on", "severity", "status",
            "closed_on", "description", "created_at", "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        # The reference's uniqueness (when given) is checked by the database; the services check the rest.
        validators = []

    def to_representation(self, instance):
        data = super().to_representation(instance)
        # Free text may hold a phone number typed by staff: it leaves the server masked (PIPL).
        data["description"] = mask_phones(data["description"] or "")
        return data


class FeedbackFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=FeedbackKind.choices)
    port = django_filters.CharFilter()
    project = django_filters.CharFilter(field_name="project__code", help_text="楼盘编码")
    status = django_filters.ChoiceFilter(choices=FeedbackStatus.choices)
    received_from = django_filters.DateFilter(field_name="received_on", lookup_expr="gte")
    received_to = django_filters.DateFilter(field_name="received_on", lookup_expr="lte")

    class Meta:
        model = Feedback
        fields = ["kind", "port", "project", "status", "received_from", "received_to"]


class FeedbackViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """客户反馈 (feedback records): a head sees only the ports their department owns or monitors."""

    serializer_class = FeedbackSerializer
    permission_classes = [ReadAnyRoleWriteDataEntry]
    filterset_class = FeedbackFilter

    def get_queryset(self):
        return feedback_visible_to(user=self.request.user).order_by("-received_on", "-id")

    def _fields(self, data: dict, instance: Feedback | None = None) -> dict:
        def value(name, default=None):
            return data[name] if name in data else getattr(instance, name, default)

        return {
            "kind": value("kind", ""),
            "project": value("project"),
            "owner": value("owner"),
            "unit": value("unit", "") or "",
            "port": value("port", ""),
            "received_on": value("received_on"),
            "severity": value("severity", "normal"),
            "status": value("status", "open"),
            "closed_on": value("closed_on"),
            "description": value("description", "") or "",
            "reference": value("reference", "") or "",
        }

    def perform_create(self, serializer):
        fields = self._fields(serializer.validated_data)
        if fields["reference"] and Feedback.objects.filter(~Q(reference=""), reference=fields["reference"]).exists():
            raise serializers.ValidationError({"reference": "反馈编号已存在"})
        serializer.instance = feedback_create(created_by=self.request.user, **fields)

    def perform_update(self, serializer):
        fields = self._fields(serializer.validated_data, serializer.instance)
        fields.pop("reference")
        serializer.instance = feedback_update(feedback=serializer.instance, **fields)
