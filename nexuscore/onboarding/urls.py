"""URLs of this area; see nexuscore/urls_public.py and urls_tenant.py for where they mount."""

urlpatterns = []
