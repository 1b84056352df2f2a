import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fundushub.settings")
django_application = get_wsgi_application()

from fundushub.lib.bodylimit import BodyLimit  # noqa: E402 - after Django is set up
from fundushub.request_bodies import cap_for  # noqa: E402

# Every server (gunicorn, waitress) serves this: a body over its URL's cap is refused unread.
application = BodyLimit(django_application, cap_for)
