from django.urls import path

from fundushub.uploads import api, views

urlpatterns = [
    path("direct/upload", views.upload, name="upload"),
    path("direct/upload/processing/<uuid:job_id>", views.processing, name="upload-processing"),
    path("direct/upload/results/<uuid:job_id>", views.results, name="upload-results"),
    path("direct/upload/jobs", views.recent_jobs, name="upload-jobs"),
    path("api/upload-jobs/<uuid:job_id>/status", api.job_status, name="api-job-status"),
    path("api/direct-upload/options", api.upload_options, name="api-upload-options"),
    path("api/direct-upload/duplicates", api.check_duplicates, name="api-upload-duplicates"),
    path("api/direct-upload/subjects", api.check_subjects, name="api-upload-subjects"),
]
