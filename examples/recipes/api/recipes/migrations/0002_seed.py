"""Seeds the profiles and recipes from recipes/seed.json (check.py reads the same file
to know what the API must return). Idempotent: rerunning updates rows in place."""

import json
from pathlib import Path

from django.db import migrations

SEED = Path(__file__).resolve().parent.parent / "seed.json"


def seed(apps, schema_editor):
    Profile = apps.get_model("recipes", "Profile")
    Recipe = apps.get_model("recipes", "Recipe")
    data = json.loads(SEED.read_text())
    authors = {}
    for row in data["profiles"]:
        authors[row["username"]], _ = Profile.objects.update_or_create(
            username=row["username"],
            defaults={"display_name": row["display_name"], "bio": row["bio"]},
        )
    for row in data["recipes"]:
        fields = {k: v for k, v in row.items() if k not in ("slug", "author")}
        Recipe.objects.update_or_create(
            slug=row["slug"], defaults={**fields, "author": authors[row["author"]]}
        )


def unseed(apps, schema_editor):
    apps.get_model("recipes", "Recipe").objects.all().delete()
    apps.get_model("recipes", "Profile").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("recipes", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
