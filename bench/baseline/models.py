from django.db import models


class Signup(models.Model):
    """One table, one INSERT per POST: the floor under the site's entry."""

    name = models.CharField(max_length=200)
    email = models.EmailField()
    twitter_handle = models.CharField(max_length=40)
    country = models.CharField(max_length=2)
    background = models.CharField(max_length=40)
    motivation = models.TextField(blank=True)
    language = models.CharField(max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.email
