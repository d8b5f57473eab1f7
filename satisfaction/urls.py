from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from satisfaction import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("dashboards/", include("satisfaction.dashboard_urls")),
    path("surveys/", include("surveys.urls")),
    path("feedback/", include("surveys.feedback_urls")),
    path("owners/", include("owners.urls")),
    path("plans/", include("improvement_plans.urls")),
    path("api/", include("satisfaction.api_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

admin.site.site_header = _("客户满意度管理 · 系统管理")
admin.site.site_title = _("客户满意度管理")
admin.site.index_title = _("系统管理")
