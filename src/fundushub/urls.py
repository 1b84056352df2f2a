from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

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
    path("", include("fundushub.uploads.urls")),
    path("", include("fundushub.images.urls")),
]
