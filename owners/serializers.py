"""API shapes of projects and owners. Phones leave the server masked unless a permitted, logged reveal."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import CodeRelatedField
from core.auth_events import client_ip
from owners.models import Owner, Project, mask_phone
from owners.privacy import phone_reveal


class ProjectSerializer(serializers.ModelSerializer):
    class Meta:
        model = Project
        fields = ["id", "code", "name", "city", "unit_count", "created_at"]
        read_only_fields = fields


class OwnerSerializer(serializers.ModelSerializer):
    project = serializers.SlugRelatedField(slug_field="code", read_only=True)
    project_name = serializers.CharField(source="project.name", read_only=True)
    phone = serializers.SerializerMethodField(help_text="掩码显示（138****5678）；有权限者加 ?reveal=phone 查看完整号码（留痕）。")

    class Meta:
        model = Owner
        fields = [
            "id", "project", "project_name", "unit", "name", "phone",
            "contract_date", "move_in_date", "anonymised_at", "created_at", "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_phone(self, owner: Owner) -> str:
        request = self.context.get("request")
        if request is not None and self.context.get("reveal_phone"):
            return phone_reveal(
                user=request.user,
                owner=owner,
                where=f"api {request.method} {request.get_full_path()}",
                ip_address=client_ip(request),
                now=timezone.now(),
            )
        return mask_phone(owner.phone)


class OwnerCreateSerializer(serializers.Serializer):
    """An owner added by brand-service staff; (project, unit, name) identifies them."""

    project = CodeRelatedField(slug_field="code", queryset=Project.objects.order_by("code"))
    unit = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=50)
    phone = serializers.RegexField(r"^[0-9+\- ]{0,20}$", required=False, allow_blank=True, default="")
    contract_date = serializers.DateField(required=False, allow_null=True, default=None)
    move_in_date = serializers.DateField(required=False, allow_null=True, default=None)
