from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from fundushub.camera import api, views

app_name = "camera"
urlpatterns = [
    path("api/retinopathy/ping/", api.ping, name="ping"),
    path("api/retinopathy/resolve/", api.resolve, name="resolve"),
    path("api/retinopathy/<str:subject_identifier>/status/", api.status, name="status"),
    path("api/retinopathy/<str:subject_identifier>/<str:file_type>/", api.upload, name="upload"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: the CSP allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="camera:schema"), name="docs"),
    path("camera/sessions", views.session_list, name="sessions"),
    path("camera/sessions/<uuid:session_id>", views.session_detail, name="session"),
    path(
        "camera/sessions/<uuid:session_id>/files/<int:file_id>",
        views.session_file,
        name="session-file",
    ),
    path("camera/reports/<int:file_id>", views.report_file, name="report"),
]
