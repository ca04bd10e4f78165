from django.apps import AppConfig


class HistoryConfig(AppConfig):
    name = "dashboard.history"
    label = "history"
    verbose_name = "Async action history"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from dashboard import after_response, postgres_text
        from dashboard.history.polling_archive import DatabaseArchive
        from dashboard.polling import archiving

        archiving.register(DatabaseArchive())  # finished actions the polling layer reads
        # Upstream text may hold NUL, which PostgreSQL refuses: every connection writes a
        # standin (dashboard/postgres_text.py).
        connection_created.connect(postgres_text.on_connection_created,
                                   dispatch_uid="postgres_text")
        after_response.connect()  # a big result's rows stored once its page has answered
