from django.apps import AppConfig


class StoreConfig(AppConfig):
    name = "fundushub.store"
    # The label the tables, migrations and permissions were created under ("images_image",
    # "images.grade_image"): kept, so moving the code renamed nothing in the database.
    label = "images"
    verbose_name = "Image store"
