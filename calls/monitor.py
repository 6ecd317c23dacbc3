"""The staff's live calls monitor page in the admin; the data arrives over the websocket
served by calls.consumers."""

from django.contrib import admin
from django.contrib.auth.decorators import permission_required
from django.template.response import TemplateResponse

from .consumers import PERMISSION
from .models import CallOutcome, Language


def call_labels() -> dict:
    """The names staff read for a call's language and outcome, from the models' choices, for
    the pages' scripts (rendered with json_script as "call-labels")."""
    return {"languages": dict(Language.choices), "outcomes": dict(CallOutcome.choices)}


@permission_required(PERMISSION, raise_exception=True)
def live_calls(request):
    context = {**admin.site.each_context(request), "title": "Live calls", "labels": call_labels()}
    return TemplateResponse(request, "admin/calls/live_calls.html", context)
