"""API permission classes: thin wrappers over the scope module ``departments.selectors``.

Which rows a user sees is decided by the ``*_visible_to`` selectors; these classes only decide whether a
user may use an endpoint at all (read) and whether they may write through it.
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from departments.selectors import user_has_any_role, user_may_enter_data, user_may_see_owners, user_may_see_responses


class HasRole(BasePermission):
    """Any of the four roles (or an administrator); an account without a role sees nothing."""

    message = "您的账户没有分配角色，无权访问。"

    def has_permission(self, request, view) -> bool:
        return user_has_any_role(request.user)


class ReadAnyRoleWriteDataEntry(BasePermission):
    """Every role reads; only brand-service staff (and administrators) write."""

    message = "只有品牌客服专员可以修改此数据。"

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return user_has_any_role(request.user)
        return user_may_enter_data(request.user)


class SeesOwners(BasePermission):
    """Owners are personal data: the brand-service staff who keep them read and write them."""

    message = "业主信息仅限品牌客服专员查看。"

    def has_permission(self, request, view) -> bool:
        return user_may_see_owners(request.user)


class SeesResponses(BasePermission):
    """Raw responses: company-wide roles read; brand-service staff write."""

    message = "答卷明细仅限品牌客服、管理层和满意度管理小组查看。"

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return user_may_see_responses(request.user)
        return user_may_enter_data(request.user)


class EntersData(BasePermission):
    message = "只有品牌客服专员可以导入数据。"

    def has_permission(self, request, view) -> bool:
        return user_may_enter_data(request.user)
