"""The three error shapes of the camera API, as the field clients expect them."""

from rest_framework.response import Response


def error(status: int, code: str, message: str, errors: list | None = None) -> Response:
    body = {"code": code, "error": message}
    if errors:
        body["errors"] = errors
    return Response(body, status=status)


def field_errors(errors: dict) -> Response:
    return Response(errors, status=400)


def no_session() -> Response:
    return error(404, "no_session", "No examination session found for this subject.")
