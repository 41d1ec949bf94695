import datetime

from django.db import migrations, models


class Migration(migrations.Migration):
    """Orders are credited by the ATTRIBUTION setting now (stored on the order); the flow's
    window only measures the holdout's lift, and its name says so."""

    dependencies = [("omnichannel", "0020_marketing_home")]

    operations = [
        migrations.RenameField("flow", "attribution_window", "conversion_window"),
        migrations.AlterField(
            model_name="flow",
            name="conversion_window",
            field=models.DurationField(
                default=datetime.timedelta(days=5),
                help_text=(
                    "For the lift over the holdout: a purchase this long after entering the "
                    "flow counts as a conversion. Which message an order is credited to "
                    "follows the ATTRIBUTION setting."
                ),
                verbose_name="holdout conversion window",
            ),
        ),
    ]
