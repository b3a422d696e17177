"""The v2 API (multi-tenant): health (which really asks PostgreSQL) and tenants' rows."""

from django.db import DatabaseError, connection
from django.http import Http404, JsonResponse

from tenants.models import Tenant

SERVICE = "medcor_backend2"


def health(request):
    """200 with what the database answered, or 503 with why it did not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "select current_database(), version(), (select count(*) from tenants_tenant)"
            )
            name, version, tenants = cursor.fetchone()
    except DatabaseError as exc:
        database = {"reachable": False, "error": str(exc).strip().splitlines()[0]}
        return JsonResponse(
            {"service": SERVICE, "status": "error", "database": database}, status=503
        )
    database = {
        "reachable": True,
        "name": name,
        "server": version.split(",")[0],
        "tenants": tenants,
    }
    return JsonResponse({"service": SERVICE, "api": "v2", "status": "ok", "database": database})


def tenants(request):
    rows = [
        {"slug": t.slug, "name": t.name, "patients": t.patients.count()}
        for t in Tenant.objects.all()
    ]
    return JsonResponse({"service": SERVICE, "tenants": rows})


def tenant_patients(request, slug):
    try:
        tenant = Tenant.objects.get(slug=slug)
    except Tenant.DoesNotExist:
        raise Http404(f"no tenant {slug}") from None
    rows = [{"id": p.id, "name": p.name} for p in tenant.patients.all()]
    return JsonResponse({"service": SERVICE, "tenant": tenant.slug, "patients": rows})
