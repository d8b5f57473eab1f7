"""API endpoints of projects and owners; rows come from the scope selectors."""

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from core.permissions import predicate_permission
from departments.permissions import HasRole
from owners.models import Owner, Project
from owners.selectors import owners_visible_to, projects_visible_to, user_may_see_owners
from owners.serializers import OwnerCreateSerializer, OwnerSerializer, ProjectSerializer
from owners.services import owner_create

# Owners are personal data: the brand-service staff who keep them read and write them.
SeesOwners = predicate_permission("SeesOwners", read=user_may_see_owners, message="业主信息仅限品牌客服专员查看。")


class ProjectFilter(django_filters.FilterSet):
    code = django_filters.CharFilter()
    city = django_filters.CharFilter()
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Project
        fields = ["code", "city", "name"]


class ProjectViewSet(viewsets.ReadOnlyModelViewSet):
    """楼盘 (projects)."""

    serializer_class = ProjectSerializer
    permission_classes = [HasRole]
    filterset_class = ProjectFilter

    def get_queryset(self):
        return projects_visible_to(self.request.user)


class OwnerFilter(django_filters.FilterSet):
    project = django_filters.CharFilter(field_name="project__code", help_text="楼盘编码")
    unit = django_filters.CharFilter()
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Owner
        fields = ["project", "unit", "name"]


REVEAL = OpenApiParameter(
    "reveal", OpenApiTypes.STR, enum=["phone"], description="phone = 查看完整电话（需权限，留痕）"
)


@extend_schema_view(
    retrieve=extend_schema(parameters=[REVEAL]),
    create=extend_schema(request=OwnerCreateSerializer, responses={201: OwnerSerializer}),
)
class OwnerViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """业主 (owners): personal data, company-wide roles only; phones masked unless ``?reveal=phone`` by a permitted user."""

    serializer_class = OwnerSerializer
    permission_classes = [SeesOwners]
    filterset_class = OwnerFilter

    def get_queryset(self):
        return owners_visible_to(self.request.user)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        # A reveal is for one owner at a time: never a whole list of full numbers.
        context["reveal_phone"] = self.action == "retrieve" and self.request.query_params.get("reveal") == "phone"
        return context

    def create(self, request, *args, **kwargs):
        serializer = OwnerCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        owner = owner_create(**serializer.validated_data)
        return Response(self.get_serializer(owner).data, status=status.HTTP_201_CREATED)
