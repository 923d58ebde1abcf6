"""Why the site changed a selection is kept as a code, read in the reader's language.

The site wrote its own reasons into a selection event's note as a sentence,
in the language of the request or task that wrote it ("No answer before the
deadline.", or its French on a French request), so a French dashboard showed
English and an English one French. Each event gets a ``cause``; the notes
that are one of those sentences, in either language, become their cause and
are cleared. What staff wrote (a disqualification's reason) stays as written.
Going back writes the English sentence into the note again.
"""

from django.db import migrations, models

# Each cause, and the sentences the site wrote for it (English, French).
SENTENCES = {
    "no_answer": ("No answer before the deadline.", "Pas de réponse avant la date limite."),
    "entry_withdrawn": (
        "The entrant withdrew the entry.",
        "La personne a retiré sa participation.",
    ),
    "declined_by_link": (
        "Declined through the link in the mail.",
        "Refusée via le lien de l'e-mail.",
    ),
}


def notes_to_causes(apps, schema_editor):
    event = apps.get_model("contests", "selectionevent")
    for cause, sentences in SENTENCES.items():
        event.objects.filter(cause="", note__in=sentences).update(cause=cause, note="")


def causes_to_notes(apps, schema_editor):
    event = apps.get_model("contests", "selectionevent")
    for cause, (english, _french) in SENTENCES.items():
        event.objects.filter(cause=cause, note="").update(note=english)


class Migration(migrations.Migration):
    dependencies = [
        ("contests", "0010_contest_banner"),
    ]

    operations = [
        migrations.AddField(
            model_name="selectionevent",
            name="cause",
            field=models.CharField(
                blank=True,
                choices=[
                    ("no_answer", "No answer before the deadline."),
                    ("entry_withdrawn", "The entrant withdrew the entry."),
                    ("declined_by_link", "Declined through the link in the mail."),
                ],
                db_default="",
                default="",
                max_length=30,
                verbose_name="cause",
            ),
        ),
        migrations.RunPython(notes_to_causes, causes_to_notes),
    ]
