"""Work in progress (being written now)."""


def dashboard(request, image_id=None):
    raise NotImplementedError


def export_csv(request, image_id=None):
    raise NotImplementedError
