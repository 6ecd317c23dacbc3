"""URL routes of the web process."""

from django.conf import settings
from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from calls.monitor import live_calls
from calls.playground import test_call_page
from calls.views import call_caller, call_route

from .health import healthz
from .metrics import metrics

admin.site.site_header = f"{settings.SHOP_NAME} call center"
admin.site.site_title = "Call center"
admin.site.index_title = "Calls, orders and catalog"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/live-calls/", admin.site.admin_view(live_calls), name="live-calls"),
    path("admin/test-call/", admin.site.admin_view(test_call_page), name="test-call"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("calls/<uuid:call_uuid>/route", call_route, name="call-route"),
    path("calls/<uuid:call_uuid>/caller", call_caller, name="call-caller"),
]
