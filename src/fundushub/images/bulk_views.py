"""Work in progress (being written now)."""


def edit_metadata(request, image_id=None):
    raise NotImplementedError


def bulk(request, image_id=None):
    raise NotImplementedError
