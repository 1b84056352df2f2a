from django.apps import AppConfig


class UploadsConfig(AppConfig):
    name = "fundushub.uploads"
    verbose_name = "Direct uploads"

    def ready(self):
        # The store asks who still refers to a blob before removing it, and the dashboard which
        # images a job stored; neither may import us.
        from fundushub.library import dashboard
        from fundushub.store import references
        from fundushub.uploads import references as ours

        references.register(ours.referenced)
        dashboard.answer_job_images(ours.job_images)
