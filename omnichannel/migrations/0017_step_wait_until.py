from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("omnichannel", "0016_flow_canvas"),
    ]

    operations = [
        migrations.AddField(
            model_name="step",
            name="wait_until",
            field=models.TimeField(
                blank=True,
                help_text=(
                    "After the delay, wait until this time of day in the contact's time zone "
                    "(their profile's, else their phone number's, else the shop's), e.g. "
                    "10:00. Empty: no wait. Quiet hours still apply when the message is sent."
                ),
                null=True,
                verbose_name="then wait until (contact's local time)",
            ),
        ),
    ]
