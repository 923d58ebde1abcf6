from django.apps import AppConfig


class TweetupConfig(AppConfig):
    name = "tweetup"
    verbose_name = "TweetUp"
