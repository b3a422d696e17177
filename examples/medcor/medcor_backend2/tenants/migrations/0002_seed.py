"""Seed two clinics (tenants) with their patients."""

from django.db import migrations

TENANTS = {
    "north": ("MedCor North", ["Marie Curie", "Louis Pasteur"]),
    "south": ("MedCor South", ["Florence Nightingale"]),
}


def seed(apps, schema_editor):
    Tenant = apps.get_model("tenants", "Tenant")
    TenantPatient = apps.get_model("tenants", "TenantPatient")
    for slug, (name, patients) in TENANTS.items():
        tenant = Tenant.objects.create(slug=slug, name=name)
        for patient in patients:
            TenantPatient.objects.create(tenant=tenant, name=patient)


def unseed(apps, schema_editor):
    apps.get_model("tenants", "Tenant").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
