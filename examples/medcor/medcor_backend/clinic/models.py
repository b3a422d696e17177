from django.db import models


class Patient(models.Model):
    name = models.CharField(max_length=100)
    born = models.DateField()

    class Meta:
        ordering = ["id"]


class Appointment(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="appointments")
    at = models.DateTimeField()
    reason = models.CharField(max_length=200)

    class Meta:
        ordering = ["at"]
