"""Leads URLs, mounted at /leads/ on organisation hosts."""

from django.urls import path

from nexuscore.leads import views

app_name = "leads"

urlpatterns = [
    path("", views.lead_list, name="list"),
    path("new/", views.lead_create, name="create"),
    path("export.csv", views.lead_export, name="export"),
    path("bulk/", views.lead_bulk, name="bulk"),
    path("bulk/delete/", views.lead_bulk_confirm, name="bulk_confirm"),
    path("check-email/", views.lead_email_check, name="email_check"),
    path("website-form/", views.website_form, name="website_form"),
    path("import/", views.import_upload, name="import"),
    path("import/<uuid:pk>/", views.import_progress, name="import_progress"),
    path("import/<uuid:pk>/map/", views.import_map, name="import_map"),
    path("import/<uuid:pk>/report/", views.import_report, name="import_report"),
    path("<uuid:pk>/", views.lead_detail, name="detail"),
    path("<uuid:pk>/edit/", views.lead_edit, name="edit"),
    path("<uuid:pk>/status/", views.lead_status, name="status"),
    path("<uuid:pk>/assign/", views.lead_assign, name="assign"),
    path("<uuid:pk>/notes/", views.lead_note, name="note"),
    path("<uuid:pk>/follow-up/", views.lead_follow_up, name="follow_up"),
    path("<uuid:pk>/convert/", views.lead_convert, name="convert"),
    path("<uuid:pk>/delete/", views.lead_delete, name="delete"),
]
