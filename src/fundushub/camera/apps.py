from django.apps import AppConfig


class CameraConfig(AppConfig):
    name = "fundushub.camera"
    verbose_name = "Camera ingestion"

    def ready(self):
        # The store asks who still refers to a blob before removing it, and the library when an
        # image was captured; neither may import us.
        from fundushub.camera import exam_reports
        from fundushub.camera import references as ours
        from fundushub.camera.registry import known_subjects
        from fundushub.grading import reports, subjects
        from fundushub.store import references, titles

        references.register(ours.referenced)
        references.register_rows(ours.rows_between)
        titles.answer_capture_times(ours.capture_times)
        subjects.register(known_subjects)  # direct uploads check typed subjects against ours
        reports.register(exam_reports.reports_of)  # an examination's page lists our reports
