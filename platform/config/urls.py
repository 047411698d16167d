"""Root URLs: admin, REST API with its OpenAPI schema, and the web pages."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from hardening.admin_login import throttled_login

# Before the admin's URLs are built: its log-in page counts failures like the site's.
admin.site.login = throttled_login(admin.site)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file, so the page needs no inline script
    # under the Content-Security-Policy (hardening/csp.py); assets come from the sidecar app.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="web/swagger_ui.html"
        ),
        name="api-docs",
    ),
    path("api/", include("challenges.api_urls")),
    path("", include("web.urls")),
]

handler404 = "config.errors.not_found"
handler500 = "config.errors.server_error"
