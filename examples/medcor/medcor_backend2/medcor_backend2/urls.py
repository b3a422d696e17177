from django.urls import path
from tenants import views

urlpatterns = [
    path("api/health/", views.health),
    path("api/tenants/", views.tenants),
    path("api/tenants/<slug:slug>/patients/", views.tenant_patients),
]
