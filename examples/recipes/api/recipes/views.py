"""The API: JSON only, read-only, from the seeded rows."""

from __future__ import annotations

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from recipes.models import Profile, Recipe


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Ready only when the database answers a query: stackup's readiness check and
    check.py both rely on this saying the truth, not just "the process is up"."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_database(), current_setting('server_version')")
            name, version = cursor.fetchone()
        recipes = Recipe.objects.count()
    except DatabaseError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return JsonResponse(
            {"status": "error", "database": {"reachable": False, "error": first_line}},
            status=503,
        )
    return JsonResponse(
        {
            "status": "ok",
            "database": {
                "reachable": True,
                "vendor": connection.vendor,
                "name": name,
                "server_version": version,
                "recipes": recipes,
            },
        }
    )


@require_GET
def recipe_list(request: HttpRequest) -> JsonResponse:
    recipes = [r.as_json() for r in Recipe.objects.select_related("author")]
    return JsonResponse({"count": len(recipes), "results": recipes})


@require_GET
def profile(request: HttpRequest, name: str) -> JsonResponse:
    try:
        user = Profile.objects.get(username=name)
    except Profile.DoesNotExist:
        return JsonResponse({"error": f"no such user: {name}"}, status=404)
    return JsonResponse(
        {**user.as_json(), "recipes": [r.as_json() for r in user.recipes.select_related("author")]}
    )
