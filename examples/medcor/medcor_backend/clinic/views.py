"""The v1 API: health (which really asks PostgreSQL) and the seeded clinic rows."""

from django.db import DatabaseError, connection
from django.http import JsonResponse

from clinic.models import Appointment, Patient

SERVICE = "medcor_backend"


def health(request):
    """200 with what the database answered, or 503 with why it did not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "select current_database(), version(), (select count(*) from clinic_patient)"
            )
            name, version, patients = cursor.fetchone()
    except DatabaseError as exc:
        database = {"reachable": False, "error": str(exc).strip().splitlines()[0]}
        return JsonResponse(
            {"service": SERVICE, "status": "error", "database": database}, status=503
        )
    database = {
        "reachable": True,
        "name": name,
        "server": version.split(",")[0],
        "patients": patients,
    }
    return JsonResponse({"service": SERVICE, "api": "v1", "status": "ok", "database": database})


def patients(request):
    rows = [{"id": p.id, "name": p.name, "born": p.born.isoformat()} for p in Patient.objects.all()]
    return JsonResponse({"service": SERVICE, "patients": rows})


def appointments(request):
    rows = [
        {"patient": a.patient.name, "at": a.at.isoformat(), "reason": a.reason}
        for a in Appointment.objects.select_related("patient")
    ]
    return JsonResponse({"service": SERVICE, "appointments": rows})
