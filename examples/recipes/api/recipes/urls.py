from django.urls import path

from recipes import views

urlpatterns = [
    path("health/", views.health),
    path("recipes/", views.recipe_list),
    path("users/profile/<slug:name>/", views.profile),
]
