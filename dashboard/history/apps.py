from django.apps import AppConfig


class HistoryConfig(AppConfig):
    name = "dashboard.history"
    label = "history"
    verbose_name = "Async action history"

    def ready(self) -> None:
        from dashboard.history import after_response
        from dashboard.history.polling_archive import DatabaseArchive
        from dashboard.polling import archiving

        archiving.register(DatabaseArchive())  # finished actions the polling layer reads
        after_response.connect()  # a big result's rows stored once its page has answered
