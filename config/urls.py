from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from core import preferences
from core import views as health
from core.accounts import PasswordResetView
from core.forms import NewPasswordForm, PasswordResetRequestForm
from dashboards import views as dashboards


def admin_login(request):
    """The admin's login page, for someone already signed in (it says when the account may not use the admin).

    Django marks the admin's own login public; here it needs login like every page, so an anonymous visitor is sent
    to the site's one login page.
    """
    return admin.site.login(request)


urlpatterns = [
    path("", dashboards.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/notifications/", preferences.notification_settings, name="notification_settings"),
    path("accounts/password_reset/", PasswordResetView.as_view(form_class=PasswordResetRequestForm),
         name="password_reset"),
    path("accounts/reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(form_class=NewPasswordForm),
         name="password_reset_confirm"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("dashboards/", include("dashboards.urls")),
    path("reports/", include("reports.urls")),
    path("surveys/", include("surveys.urls")),
    path("", include("online.urls")),
    path("feedback/", include("feedback.urls")),
    path("followup/", include("followup.urls")),
    path("owners/", include("owners.urls")),
    path("plans/", include("improvement_plans.urls")),
    path("api/", include("config.api_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    # Before the admin's own login, which Django makes public: anonymous visitors sign in on the site's login page.
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
]

admin.site.site_header = _("客户满意度管理 · 系统管理")
admin.site.site_title = _("客户满意度管理")
admin.site.index_title = _("系统管理")
