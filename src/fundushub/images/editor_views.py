"""Work in progress (being written now)."""


def editor(request, image_id=None):
    raise NotImplementedError


def restore(request, image_id=None):
    raise NotImplementedError
