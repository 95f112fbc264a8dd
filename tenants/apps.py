from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Organisations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django_q.signals import post_execute_in_worker, pre_enqueue, pre_execute

        from nexuscore.lib import logs
        from nexuscore.lib.errors import report_task_errors
        from tenants import signals  # noqa: F401  (clears the host cache when tenants change)

        # Every task's log lines name it, its organisation, attempt and the request that
        # enqueued it; its exception reaches Sentry when SENTRY_DSN is set (nexuscore/lib/).
        pre_enqueue.connect(logs.stamp_task, dispatch_uid="nexuscore.lib.logs.stamp_task")
        pre_execute.connect(logs.task_started, dispatch_uid="nexuscore.lib.logs.task_started")
        post_execute_in_worker.connect(
            logs.task_finished, dispatch_uid="nexuscore.lib.logs.task_finished"
        )
        report_task_errors()
