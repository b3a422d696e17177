"""Seed rows, so the API has something real to read on first start."""

import datetime

from django.db import migrations

PATIENTS = [
    ("Ada Lovelace", "1815-12-10"),
    ("Alan Turing", "1912-06-23"),
    ("Grace Hopper", "1906-12-09"),
]


def seed(apps, schema_editor):
    Patient = apps.get_model("clinic", "Patient")
    Appointment = apps.get_model("clinic", "Appointment")
    when = datetime.datetime(2026, 12, 1, 9, 0, tzinfo=datetime.UTC)
    for index, (name, born) in enumerate(PATIENTS):
        patient = Patient.objects.create(name=name, born=born)
        Appointment.objects.create(
            patient=patient, at=when + datetime.timedelta(hours=index), reason="check-up"
        )


def unseed(apps, schema_editor):
    apps.get_model("clinic", "Patient").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("clinic", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
