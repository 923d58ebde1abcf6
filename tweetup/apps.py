from django.apps import AppConfig


class TweetupConfig(AppConfig):
    name = "tweetup"
    verbose_name = "TweetUp"

    def ready(self) -> None:
        from . import access_log, checks  # noqa: F401 - registers the receivers and checks
