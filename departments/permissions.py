"""API permissions that follow from the roles alone (see ``departments.selectors``)."""

from core.permissions import predicate_permission
from departments.selectors import user_has_any_role, user_may_enter_data

# Any of the four roles (or an administrator); an account without a role sees nothing.
HasRole = predicate_permission("HasRole", read=user_has_any_role, message="您的账户没有分配角色，无权访问。")
# Every role reads; only brand-service staff (and administrators) write.
ReadAnyRoleWriteDataEntry = predicate_permission(
    "ReadAnyRoleWriteDataEntry", read=user_has_any_role, write=user_may_enter_data,
    message="只有品牌客服专员可以修改此数据。",
)
EntersData = predicate_permission("EntersData", read=user_may_enter_data, message="只有品牌客服专员可以导入数据。")
