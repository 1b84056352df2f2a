"""`Server-Timing: app;dur=<ms>` on API responses: how long the server itself spent on a request
(reading and parsing the body included), so a camera client, a browser's developer tools and
bench/camera_api.py can tell the server's time from the network's."""

import time


def server_timing(get_response):
    def middleware(request):
        start = time.perf_counter()
        response = get_response(request)
        if request.path.startswith("/api/"):
            response["Server-Timing"] = f"app;dur={1000 * (time.perf_counter() - start):.2f}"
        return response

    return middleware
