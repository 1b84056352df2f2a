"""The Images dashboard (every image, direct or camera) and its CSV export: parse the filters, scope, render."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from fundushub.accounts.roles import can_upload, sees_lab_unit_jobs
from fundushub.library import dashboard as board
from fundushub.library import export, grid, kpis


@login_required
@require_GET
def dashboard(request):
    user = request.user
    clean = board.without_empty(request.GET)
    if clean is not None:
        return redirect(f"{request.path}?{clean}" if clean else request.path)
    filters = board.parse_filters(user, request.GET)
    options = board.options_for(user)
    images = board.filtered_images(user, filters)
    page, cursor_message = grid.page_of(user, images, filters, request.GET)
    figures = kpis.compute(user, filters, options)
    grid.link_kpis(figures, filters)
    context = {
        "filters": filters,
        "options": options,
        "kpis": figures,
        "page": page,
        "links": grid.links(filters, page, request.GET),
        "cursor_message": cursor_message,
        "sees_uploaders": sees_lab_unit_jobs(user),
        "may_upload": can_upload(user),
        # Bulk edit/delete only where the user may change a card on this page (never graders).
        "may_change_any": any(image.may_manage for image in page.rows),
        "here": request.get_full_path(),
        "per_page_choices": board.PER_PAGE,
        "check_filters": board.CHECK_FILTERS,
    }
    return render(request, "library/dashboard.html", context)


@login_required
@require_GET
def export_csv(request):
    filters = board.parse_filters(request.user, request.GET)
    if filters.errors:
        # An export is exactly what was asked for, or nothing: never a silently wider set.
        body = "Nothing exported:\n" + "\n".join(filters.errors) + "\n"
        return HttpResponse(body, status=400, content_type="text/plain; charset=utf-8")
    return export.response(request, filters)
