"""StreamRecording and RecordingJob, moved here from the ``streams`` app with their rows.

``streams/migrations/0006_recordings_app.py`` renamed the tables (created by
``streams`` 0001-0002) to this app's names and dropped the models from that
app's state; this migration only adds them to this app's state (no SQL), on an
existing database and on a new one alike. Their content types are relabelled
``streams`` -> ``recordings`` so permissions granted on them and admin log
entries stay attached (on a new database there are none yet).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import recordings.models

MOVED_MODELS = ("streamrecording", "recordingjob")


def relabel_content_types(old_app: str, new_app: str):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        content_type = apps.get_model("contenttypes", "ContentType")
        types = content_type.objects.using(schema_editor.connection.alias)
        for model in MOVED_MODELS:
            # A type already created for the new label (a partial earlier run) wins;
            # the old one is then stale (``manage.py remove_stale_contenttypes``).
            if not types.filter(app_label=new_app, model=model).exists():
                types.filter(app_label=old_app, model=model).update(app_label=new_app)

    return run


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("streams", "0006_recordings_app"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="StreamRecording",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("title", models.CharField(max_length=200)),
                        (
                            "file",
                            models.FileField(
                                blank=True,
                                help_text="Cleaned audio",
                                max_length=255,
                                upload_to=recordings.models.recording_path,
                            ),
                        ),
                        (
                            "raw_file",
                            models.FileField(
                                blank=True,
                                help_text="Raw audio",
                                max_length=255,
                                upload_to=recordings.models.recording_path,
                            ),
                        ),
                        ("duration", models.FloatField(default=0.0, help_text="Seconds")),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("session_id", models.UUIDField(blank=True, editable=False, null=True)),
                        (
                            "source",
                            models.CharField(
                                choices=[("live", "Live"), ("import", "Import")],
                                default="live",
                                max_length=10,
                            ),
                        ),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("ready", "Ready"),
                                    ("processing", "Processing"),
                                    ("failed", "Failed"),
                                ],
                                default="ready",
                                max_length=12,
                            ),
                        ),
                        ("error", models.CharField(blank=True, default="", max_length=500)),
                        ("model", models.CharField(blank=True, default="", max_length=40)),
                        ("atten_lim_db", models.FloatField(default=100.0)),
                        (
                            "size_bytes",
                            models.BigIntegerField(
                                default=0, help_text="Stored bytes of both versions"
                            ),
                        ),
                        (
                            "owner",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="recordings",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={"ordering": ["-created_at", "-id"]},
                ),
                migrations.CreateModel(
                    name="RecordingJob",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[("import", "Import"), ("reclean", "Reclean")],
                                max_length=10,
                            ),
                        ),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("queued", "Queued"),
                                    ("running", "Running"),
                                    ("done", "Done"),
                                    ("failed", "Failed"),
                                ],
                                default="queued",
                                max_length=10,
                            ),
                        ),
                        ("progress", models.FloatField(default=0.0)),
                        ("model", models.CharField(max_length=40)),
                        ("atten_lim_db", models.FloatField(default=100.0)),
                        ("error", models.CharField(blank=True, default="", max_length=500)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "updated_at",
                            models.DateTimeField(auto_now=True, help_text="Heartbeat while running"),
                        ),
                        (
                            "recording",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="jobs",
                                to="recordings.streamrecording",
                            ),
                        ),
                    ],
                    options={
                        "ordering": ["-created_at", "-id"],
                        "constraints": [
                            models.UniqueConstraint(
                                condition=models.Q(("status__in", ["queued", "running"])),
                                fields=("recording",),
                                name="one_open_job_per_recording",
                            )
                        ],
                    },
                ),
            ],
        ),
        migrations.RunPython(
            relabel_content_types("streams", "recordings"),
            relabel_content_types("recordings", "streams"),
        ),
    ]
