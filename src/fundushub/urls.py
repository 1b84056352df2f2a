from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from fundushub.accounts import views as accounts_views

admin.site.site_header = "Fundus Hub administration"
admin.site.site_title = "Fundus Hub"

urlpatterns = [
    # The camera API first: cameras send most requests, and URLs are tried in order.
    path("", include("fundushub.camera.urls")),
    path("", accounts_views.home, name="home"),
    path("accounts/login/", accounts_views.SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("favicon.ico", RedirectView.as_view(url=static("fundushub/favicon.svg"), permanent=True)),
    path("", include("fundushub.uploads.urls")),
    path("", include("fundushub.library.urls")),
    path("", include("fundushub.grading.urls")),
    path("", include("fundushub.operations.urls")),
]

# Error pages in the site's layout (JSON under /api/); 405 is errors.method_not_allowed_page.
handler400 = "fundushub.errors.bad_request"
handler403 = "fundushub.errors.permission_denied"
handler404 = "fundushub.errors.page_not_found"
handler500 = "fundushub.errors.server_error"
