"""Billing and invoices on an organisation's host (mounted at "" by nexuscore/urls_tenant.py)."""

from django.urls import path

from nexuscore.billing import views

urlpatterns = [
    path("billing/", views.billing, name="billing"),
    path("billing/checkout/", views.checkout, name="billing_checkout"),
    path("billing/portal/", views.portal, name="billing_portal"),
    path("invoices/", views.invoice_list, name="invoices"),
    path("invoices/<uuid:invoice_id>/", views.invoice_detail, name="invoice"),
    path("invoices/<uuid:invoice_id>/pdf/", views.invoice_pdf, name="invoice_pdf"),
]
