import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("omnichannel", "0007_inbound_message_ids_kept"),
    ]

    operations = [
        migrations.CreateModel(
            name="PopupFormUse",
            fields=[
                (
                    "token_digest",
                    models.CharField(max_length=64, primary_key=True, serialize=False),
                ),
                ("used_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                (
                    "signup",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="form_uses",
                        to="omnichannel.popupsignup",
                    ),
                ),
            ],
            options={
                "verbose_name": "popup form sent",
                "verbose_name_plural": "popup forms sent",
            },
        ),
    ]
