"""Security headers every response carries besides Django's own: the Permissions-Policy.

(The Content-Security-Policy comes from django-csp, configured in settings; media responses set
their own, stricter one in lib/downloads.py.)
"""

# Features no page of ours uses; a page (or a file opened in a tab) asking for them is refused.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
    "magnetometer=(), microphone=(), midi=(), payment=(), usb=()"
)


def permissions_policy(get_response):
    def middleware(request):
        response = get_response(request)
        if "Permissions-Policy" not in response:
            response["Permissions-Policy"] = PERMISSIONS_POLICY
        return response

    return middleware
