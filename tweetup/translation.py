"""A background job's outcome in English and French (django-modeltranslation).

The worker writes the outcome of a job that ends well in every language, so
that whoever opens the job's page reads it in theirs, whoever asked for it;
a refusal keeps the language of the page the job was asked from, and shows
to the readers of the other one through the fallback.
"""

from modeltranslation.translator import TranslationOptions, register

from .models import Job


@register(Job)
class JobTranslationOptions(TranslationOptions):
    fields = ("outcome",)
