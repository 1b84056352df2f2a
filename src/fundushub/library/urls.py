from django.urls import path

from fundushub.library import bulk_views, dashboard_views, editor_views, viewer_views, views

urlpatterns = [
    # Media: authorised, by opaque id, metadata-free copies (the untouched original for managers).
    path("images/<uuid:image_id>/thumbnail", views.thumbnail, name="image-thumbnail"),
    path("images/<uuid:image_id>/view", views.display, name="image-display"),
    path("images/<uuid:image_id>/download", views.download, name="image-download"),
    path("images/<uuid:image_id>/original", views.original, name="image-original"),
    path("api/images/<uuid:image_id>", views.image_api, name="api-image"),
    # The dashboard and what it leads to.
    path("direct/dashboard", dashboard_views.dashboard, name="dashboard"),
    path("direct/dashboard/export.csv", dashboard_views.export_csv, name="dashboard-export"),
    path("direct/images/<uuid:image_id>", viewer_views.viewer, name="image-viewer"),
    path("direct/images/<uuid:image_id>/grade", viewer_views.grade, name="image-grade"),
    path("direct/images/<uuid:image_id>/edit", bulk_views.edit_metadata, name="image-edit"),
    path("direct/images/bulk", bulk_views.bulk, name="images-bulk"),
    path("direct/images/<uuid:image_id>/editor", editor_views.editor, name="image-editor"),
    path("direct/images/<uuid:image_id>/restore", editor_views.restore, name="image-restore"),
    path(
        "direct/images/<uuid:image_id>/text-review",
        editor_views.text_review,
        name="image-text-review",
    ),
]
