from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _


class OwnersConfig(AppConfig):
    name = "owners"
    verbose_name = _("楼盘与业主")

    def ready(self):
        from owners.natural import register_sqlite_collation

        connection_created.connect(register_sqlite_collation, dispatch_uid="owners.natural_collation")
