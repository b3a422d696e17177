from django.db import models


class Tenant(models.Model):
    """A clinic on the platform; every patient row belongs to one."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["slug"]


class TenantPatient(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="patients")
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["id"]
