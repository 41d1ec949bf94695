from django.db import migrations, models


def remember_stored_ids(apps, schema_editor):
    """The inbound messages already stored were acted on: their ids are seen."""
    InboundMessage = apps.get_model("omnichannel", "InboundMessage")
    SeenInboundMessage = apps.get_model("omnichannel", "SeenInboundMessage")
    ids = InboundMessage.objects.values_list("provider_message_id", flat=True)
    batch = []
    for sid in ids.iterator(chunk_size=1000):
        batch.append(SeenInboundMessage(provider_message_id=sid))
        if len(batch) == 1000:
            SeenInboundMessage.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    SeenInboundMessage.objects.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("omnichannel", "0006_admin_permissions"),
    ]

    operations = [
        migrations.CreateModel(
            name="SeenInboundMessage",
            fields=[
                (
                    "provider_message_id",
                    models.CharField(max_length=128, primary_key=True, serialize=False),
                ),
                ("seen_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "verbose_name": "inbound message id seen",
                "verbose_name_plural": "inbound message ids seen",
            },
        ),
        migrations.RunPython(remember_stored_ids, migrations.RunPython.noop, elidable=True),
    ]
