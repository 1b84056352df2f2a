from django.urls import path

from fundushub.images import views

urlpatterns = [
    path("images/<uuid:image_id>/thumbnail", views.thumbnail, name="image-thumbnail"),
]
