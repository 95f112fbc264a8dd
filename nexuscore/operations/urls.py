"""The operations pages inside the staff admin (/admin/operations/), behind the admin site's
guard: admin_view lets in only what the site's has_permission allows, adds never_cache and
CSRF protection, and sends everyone else to the admin's sign-in."""

from django.contrib import admin
from django.urls import path

from nexuscore.operations import views

urlpatterns = [
    path("", admin.site.admin_view(views.operations), name="operations"),
    path(
        "tasks/<str:task_id>/retry/",
        admin.site.admin_view(views.retry_task),
        name="operations_retry_task",
    ),
]
