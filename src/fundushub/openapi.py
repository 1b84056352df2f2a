"""/api/schema/ also describes the JSON the site's pages use (a drf-spectacular postprocessing hook).

Those views are plain Django views, signed in by the session cookie; their paths are written out
by the app that owns them (uploads/openapi.py, images/openapi.py) and merged here.
"""

from fundushub.grading import openapi as grading_openapi
from fundushub.library import openapi as images_openapi
from fundushub.uploads import openapi as uploads_openapi

PAGE_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string", "description": "what went wrong, in words"}},
}
COOKIE_AUTH = {
    "type": "apiKey",
    "in": "cookie",
    "name": "sessionid",
    "description": "The session cookie a browser gets by signing in at /accounts/login/.",
}


def add_page_apis(result, generator, request, public):
    result.setdefault("paths", {}).update(uploads_openapi.PATHS)
    result["paths"].update(images_openapi.PATHS)
    result["paths"].update(grading_openapi.PATHS)
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["PageError"] = PAGE_ERROR
    components.setdefault("securitySchemes", {})["cookieAuth"] = COOKIE_AUTH
    return result
