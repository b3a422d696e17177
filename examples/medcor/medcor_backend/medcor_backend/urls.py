from clinic import views
from django.urls import path

urlpatterns = [
    path("api/health/", views.health),
    path("api/patients/", views.patients),
    path("api/appointments/", views.appointments),
]
