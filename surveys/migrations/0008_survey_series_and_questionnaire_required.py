# Every wave now has its series and questionnaire version (0007): the old questionnaire code column goes, the
# version takes its name, and both become required.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0007_seed_series_and_questionnaires"),
    ]

    operations = [
        migrations.RemoveField(model_name="survey", name="questionnaire"),
        migrations.RenameField(model_name="survey", old_name="questionnaire_version", new_name="questionnaire"),
        migrations.AlterField(
            model_name="survey",
            name="questionnaire",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="surveys",
                to="surveys.questionnaire",
                verbose_name="问卷版本",
            ),
        ),
        migrations.AlterField(
            model_name="survey",
            name="series",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="surveys",
                to="surveys.surveyseries",
                verbose_name="系列",
            ),
        ),
    ]
