from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("omnichannel", "0015_flow_paths")]

    operations = [
        migrations.AddField(
            model_name="flow",
            name="canvas_layout",
            field=models.JSONField(
                blank=True,
                default=dict,
                editable=False,
                help_text="Where the canvas draws each step: {step id: {x, y}}.",
                verbose_name="canvas layout",
            ),
        ),
    ]
