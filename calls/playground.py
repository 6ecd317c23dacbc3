"""The admin's Test call page: staff talk to the bot from the browser (microphone or text chat)
over the websocket /ws/test-call/ and watch what it understood; linked from the admin's Calls
section for those allowed to place test calls."""

from django.apps import apps
from django.contrib import admin
from django.contrib.auth.decorators import permission_required
from django.template.response import TemplateResponse
from django.urls import reverse

from .language_settings import shop_languages
from .monitor import call_labels

TEST_CALL_PERMISSION = "calls.place_test_call"
SOCKET_PATH = "/ws/test-call/"


@permission_required(TEST_CALL_PERMISSION, raise_exception=True)
def test_call_page(request):
    languages, labels = shop_languages(), call_labels()
    names = labels["languages"]
    context = {
        **admin.site.each_context(request),
        "title": "Test call",
        "socket_path": SOCKET_PATH,
        "labels": labels,
        "default_language": names.get(languages[0], languages[0]),
        "languages": [(code, names.get(code, code)) for code in languages],
    }
    return TemplateResponse(request, "admin/calls/test_call.html", context)


def with_test_call_link(get_app_list):
    """Wrap AdminSite.get_app_list so the Calls section (on the index, the Calls page and the
    sidebar) lists the Test call page for staff allowed to place test calls."""

    def app_list(request, app_label=None):
        sections = get_app_list(request, app_label)
        if app_label not in (None, "calls") or not request.user.has_perm(TEST_CALL_PERMISSION):
            return sections
        calls = next((app for app in sections if app["app_label"] == "calls"), None)
        if calls is None:  # allowed to test the bot, but to see no call records
            calls = {
                "name": apps.get_app_config("calls").verbose_name,
                "app_label": "calls",
                "app_url": reverse("admin:app_list", kwargs={"app_label": "calls"}),
                "has_module_perms": True,
                "models": [],
            }
            sections = sorted([*sections, calls], key=lambda app: app["name"].lower())
        calls["models"].append(
            {
                "name": "Test call",
                "object_name": "TestCall",
                "perms": {"view": True},
                "admin_url": reverse("test-call"),
                "add_url": None,
                "view_only": True,
            }
        )
        return sections

    return app_list
