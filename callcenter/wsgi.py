"""WSGI entry point, for deployments that serve the admin without websockets."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callcenter.settings")

application = get_wsgi_application()
