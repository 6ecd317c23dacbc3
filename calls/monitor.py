"""The staff's live calls monitor page in the admin; the data arrives over the websocket
served by calls.consumers."""

from django.contrib import admin
from django.contrib.auth.decorators import permission_required
from django.template.response import TemplateResponse

from .consumers import PERMISSION


@permission_required(PERMISSION, raise_exception=True)
def live_calls(request):
    context = {**admin.site.each_context(request), "title": "Live calls"}
    return TemplateResponse(request, "admin/calls/live_calls.html", context)
