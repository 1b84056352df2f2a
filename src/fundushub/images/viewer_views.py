"""Work in progress (being written now)."""


def viewer(request, image_id=None):
    raise NotImplementedError


def grade(request, image_id=None):
    raise NotImplementedError
