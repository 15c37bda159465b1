"""Top-level routes: the API under /api/v1, its schema and docs, health, admin, and the SPA."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from channels_app import web_inbox, web_push
from workspaces import views as workspace_views

api_v1 = [
    path("", include("workspaces.api.urls")),
    path("", include("audiences.api.urls")),
    path("", include("journeys.api.urls")),
    path("", include("channels_app.api.urls")),
    path("", include("analytics.api.urls")),
    path("", include("webhooks_out.api.urls")),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
]

urlpatterns = [
    path("healthz", workspace_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("v1/", include("audiences.segment_api.urls")),  # Segment-compatible tracking API
    path("v1/", include("channels_app.web_inbox")),  # the web inbox for sites' pages
    path("v1/", include("channels_app.web_push")),  # Web Push subscriptions for sites' pages
    path("wallet/", include("channels_app.wallet_views")),  # Apple's PassKit web service
    path("sdk/waymark-inbox.js", web_inbox.sdk_script, name="sdk-waymark-inbox"),
    path("sdk/waymark-push.js", web_push.push_sdk_script, name="sdk-waymark-push"),
    path("sdk/waymark-sw.js", web_push.service_worker_script, name="sdk-waymark-sw"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    # Anything under /api, /v1 or /wallet that matched nothing is a JSON 404, never the SPA.
    re_path(r"^api/", workspace_views.api_not_found),
    re_path(r"^v1/", workspace_views.api_not_found),
    re_path(r"^wallet/", workspace_views.api_not_found),
    # Every other path is the single-page app (client-side routing).
    re_path(r"^(?!api/|v1/|wallet/|ws/|admin/|static/).*$", workspace_views.spa, name="spa"),
]

handler400 = "workspaces.views.handler400"
handler403 = "workspaces.views.handler403"
handler404 = "workspaces.views.handler404"
handler500 = "workspaces.views.handler500"
