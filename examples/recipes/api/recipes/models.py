from django.db import models


class Profile(models.Model):
    username = models.SlugField(unique=True)
    display_name = models.CharField(max_length=100)
    bio = models.TextField(blank=True)

    def as_json(self) -> dict[str, object]:
        return {"username": self.username, "display_name": self.display_name, "bio": self.bio}


class Recipe(models.Model):
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    author = models.ForeignKey(Profile, related_name="recipes", on_delete=models.CASCADE)
    minutes = models.PositiveIntegerField()
    servings = models.PositiveIntegerField()
    ingredients = models.JSONField(default=list)

    class Meta:
        ordering = ["title"]

    def as_json(self) -> dict[str, object]:
        return {
            "slug": self.slug,
            "title": self.title,
            "author": self.author.username,
            "minutes": self.minutes,
            "servings": self.servings,
            "ingredients": self.ingredients,
        }
