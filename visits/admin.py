import zoneinfo

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy
from modeltranslation.admin import TranslationAdmin, TranslationTabularInline

from tweetup.admin import AuditedAdmin
from tweetup.errors import errors_shown

from .errors import VisitError
from .models import LiveUpdate, Location, Question, StopChange, TourStop, Visit
from .services import live as live_services
from .services import questions as question_services
from .services import stops as stop_services


def _stop_title(data: dict) -> str:
    """How a stop's form names it in a refusal: its English title, else its French one."""
    return data.get("title_en") or data.get("title_fr") or ""


class TourStopFormSet(BaseInlineFormSet):
    """Checks every stop of the visit together, under the visit's lock, before any is saved.

    The admin saves the visit and its stops in one transaction, so the lock
    taken here holds until the stops are saved, and a refused change saves
    nothing.
    """

    def clean(self):
        super().clean()
        visit = self.instance
        if visit.date is None or visit.time_zone not in zoneinfo.available_timezones():
            # The visit's own form says what to fix; its day is unknown until then.
            return
        slots, deleted = [], []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            if self.can_delete and self._should_delete_form(form):
                if form.instance.pk:
                    deleted.append(form.instance.pk)
                continue
            if not form.instance.pk and not form.has_changed():
                continue
            slots.append(
                stop_services.StopSlot(
                    title=_stop_title(data) or form.instance.title or _("(untitled)"),
                    starts_at=data.get("starts_at"),
                    ends_at=data.get("ends_at"),
                    pk=form.instance.pk,
                )
            )
        try:
            stop_services.stops_validate(visit=self.instance, stops=slots, deleted_pks=deleted)
        except VisitError as exc:
            raise ValidationError(exc.extra["conflicts"]) from exc


class TourStopInline(TranslationTabularInline):
    model = TourStop
    formset = TourStopFormSet
    extra = 1
    fields = ["title", "location", "starts_at", "ends_at", "guide", "language", "capacity", "notes"]
    # Says once, above the stops, in which time zone their times are.
    template = "admin/visits/visit/tourstop_inline.html"
    formfield_overrides = {
        TourStop._meta.get_field("notes").__class__: {
            "widget": forms.Textarea(attrs={"rows": 2, "cols": 20})
        }
    }

    class Media:
        css = {"all": ["css/admin-visit.css"]}


def _time_zone_of(request, object_id) -> zoneinfo.ZoneInfo | None:
    name = request.POST.get("time_zone") if request.method == "POST" else None
    if not name and object_id:
        name = Visit.objects.filter(pk=object_id).values_list("time_zone", flat=True).first()
    if name and name in zoneinfo.available_timezones():
        return zoneinfo.ZoneInfo(name)
    return None


# The translated fields (visits.translation) show once per language, side by
# side; the admins still save through the services.
@admin.register(Visit)
class VisitAdmin(AuditedAdmin, TranslationAdmin):
    list_display = ["title", "date", "time_zone", "meeting_point", "stops_count", "pages"]
    search_fields = ["title_en", "title_fr", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    date_hierarchy = "date"
    inlines = [TourStopInline]
    fieldsets = [
        # Each text in English and French side by side, on one line.
        (None, {"fields": [("title_en", "title_fr"), "slug", "date", "time_zone"]}),
        (
            _("For the visitors"),
            {
                "fields": [
                    ("meeting_point_en", "meeting_point_fr"),
                    ("practical_notes_en", "practical_notes_fr"),
                    "collects_site_access",
                ]
            },
        ),
    ]

    class Media:
        css = {"all": ["css/admin-languages.css"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(stops_total=Count("stops"))

    @admin.display(description=_("stops"), ordering="stops_total")
    def stops_count(self, visit: Visit) -> int:
        return visit.stops_total

    @admin.display(description=_("pages"))
    def pages(self, visit: Visit):
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a> · <a href="{}">{}</a> · <a href="{}">{}</a>',
            visit.get_absolute_url(),
            _("itinerary"),
            reverse("visitors:group", kwargs={"slug": visit.slug}),
            _("group"),
            reverse("visitors:check_in", kwargs={"slug": visit.slug}),
            _("check-in"),
            reverse("visits:live", kwargs={"slug": visit.slug}),
            _("live"),
        )

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # Stop times are typed and shown in the visit's time zone, not the server's;
        # the stops' inline names it once.
        zone = _time_zone_of(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "stops_time_zone": zone,
            # The stops' table needs the page's width more than the admin's menu.
            "is_nav_sidebar_enabled": False,
        }
        if zone is None:
            return super().changeform_view(request, object_id, form_url, extra_context)
        with timezone.override(zone):
            return super().changeform_view(request, object_id, form_url, extra_context)

    def save_inline_objects(self, request, form, formset, change):
        if formset.model is not TourStop:
            return super().save_inline_objects(request, form, formset, change)
        # The formset checked the stops together; the service checks them
        # again under the visit's lock, saves them and records the changes.
        formset.save(commit=False)
        stop_services.stops_save(
            visit=form.instance,
            stops=[*formset.new_objects, *(stop for stop, _fields in formset.changed_objects)],
            deleted=formset.deleted_objects,
            actor=request.user,
        )
        return None


class TourStopForm(forms.ModelForm):
    """A single stop, checked against the other stops of its visit under the visit's lock."""

    class Meta:
        model = TourStop
        fields = [
            "visit",
            "title",
            "location",
            "starts_at",
            "ends_at",
            "guide",
            "language",
            "capacity",
            "notes",
        ]

    def clean(self):
        data = super().clean()
        visit = data.get("visit")
        if visit is not None:
            slot = stop_services.StopSlot(
                title=_stop_title(data),
                starts_at=data.get("starts_at"),
                ends_at=data.get("ends_at"),
                pk=self.instance.pk,
            )
            try:
                stop_services.stops_validate(visit=visit, stops=[slot])
            except VisitError as exc:
                raise ValidationError(exc.extra["conflicts"]) from exc
        return data


@admin.register(TourStop)
class TourStopAdmin(AuditedAdmin, TranslationAdmin):
    form = TourStopForm
    list_display = ["title", "starts_at", "ends_at", "visit", "location", "guide", "language"]
    list_filter = ["visit"]
    list_select_related = ["visit", "location"]
    search_fields = [
        "title_en",
        "title_fr",
        "guide_en",
        "guide_fr",
        "location__name_en",
        "location__name_fr",
    ]
    autocomplete_fields = ["location"]

    def save_object(self, request, obj, form, change):
        stop_services.tour_stop_save(stop=obj, actor=request.user)


@admin.register(Location)
class LocationAdmin(AuditedAdmin, TranslationAdmin):
    list_display = ["name", "address"]
    search_fields = ["name_en", "name_fr", "address_en", "address_fr"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("name_en", "name_fr"),
                    ("address_en", "address_fr"),
                    ("description_en", "description_fr"),
                ]
            },
        ),
    ]

    class Media:
        css = {"all": ["css/admin-languages.css"]}


class QuestionAnswerForm(forms.ModelForm):
    """The guide's answer; refused on the form, with the reason, when it cannot be recorded."""

    class Meta:
        model = Question
        fields = ["answer"]

    def clean_answer(self) -> str:
        answer = (self.cleaned_data.get("answer") or "").strip()
        if "answer" not in self.changed_data:
            return answer
        if not answer:
            raise ValidationError(_("An answer cannot be removed."))
        if self.instance.status not in Question.PUBLIC_STATUSES:
            raise ValidationError(_("Approve the question before recording the guide's answer."))
        return answer


class StopListFilter(admin.RelatedFieldListFilter):
    """The stops by visit and time, as the live update form names them; only the chosen visit's."""

    def field_choices(self, field, request, model_admin):
        stops = stops_by_visit(TourStop.objects.all())
        visit = request.GET.get("stop__visit__id__exact")
        if visit and visit.isdigit():
            stops = stops.filter(visit_id=int(visit))
        return [(stop.pk, stop_choice_label(stop)) for stop in stops]


@admin.register(Question)
class QuestionAdmin(AuditedAdmin):
    form = QuestionAnswerForm
    # The status, what a moderator looks for, right after the question.
    list_display = ["text", "status", "stop", "author_name", "votes_total", "created_at"]
    list_filter = ["status", "stop__visit", ("stop", StopListFilter)]
    list_select_related = ["stop__visit"]
    search_fields = ["text", "author_name", "answer"]
    readonly_fields = [
        "stop",
        "text",
        "author_name",
        "status",
        "created_at",
        "moderated_at",
        "moderated_by",
        "answered_at",
        "votes_total",
    ]
    fields = [*readonly_fields[:-1], "votes_total", "answer"]
    actions = ["approve", "reject", "mark_asked"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(votes_count=Count("votes"))

    def audit_scope(self, question: Question) -> dict:
        return {"visit": question.stop.visit_id}

    @admin.display(description=_("votes"), ordering="votes_count")
    def votes_total(self, question: Question) -> int:
        return question.votes_count

    def _moderate(self, request, queryset, action: str, done_message) -> None:
        count = question_services.questions_moderate(
            questions=list(queryset), action=action, actor=request.user
        )
        self.message_user(request, done_message % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Approve the chosen questions"), permissions=["change"])
    def approve(self, request, queryset):
        self._moderate(
            request,
            queryset,
            "approve",
            # The plural follows the "count" the message is formatted with.
            ngettext_lazy("%(count)s question approved.", "%(count)s questions approved.", "count"),
        )

    @admin.action(description=_("Reject the chosen questions"), permissions=["change"])
    def reject(self, request, queryset):
        self._moderate(
            request,
            queryset,
            "reject",
            ngettext_lazy("%(count)s question rejected.", "%(count)s questions rejected.", "count"),
        )

    @admin.action(description=_("Mark the chosen questions as asked"), permissions=["change"])
    def mark_asked(self, request, queryset):
        self._moderate(
            request,
            queryset,
            "asked",
            ngettext_lazy(
                "%(count)s question marked as asked.",
                "%(count)s questions marked as asked.",
                "count",
            ),
        )

    def save_model(self, request, obj, form, change):
        if "answer" in form.changed_data:
            # Moderated in between by someone else: say so rather than pretend.
            with errors_shown(request):
                question_services.question_answer(
                    question=obj, answer=obj.answer, actor=request.user
                )


def stops_by_visit(stops):
    """Stops as a choice among every visit's: the newest visit first, each visit's in time order."""
    return stops.select_related("visit").order_by("-visit__date", "visit__title", "starts_at")


def stop_choice_label(stop: TourStop) -> str:
    """A stop as a choice among every visit's: "Visit · 14:30 Stop" in the visit's time."""
    start = timezone.localtime(stop.starts_at, stop.visit.tzinfo)
    return f"{stop.visit.title} · {formats.time_format(start, 'TIME_FORMAT')} {stop.title}"


class LiveUpdateAdminForm(forms.ModelForm):
    """A live update edited in the admin: some text, and a stop of its own visit."""

    class Meta:
        model = LiveUpdate
        fields = ["visit", "stop", "text", "posted_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Two visits may each have a "Computing Centre": name each stop's visit and time.
        stop = self.fields["stop"]
        stop.queryset = stops_by_visit(stop.queryset)
        stop.label_from_instance = stop_choice_label

    def clean(self):
        data = super().clean()
        if "text_en" in self.fields and not (data.get("text_en") or data.get("text_fr")):
            self.add_error("text_en", _("Write the update in English, French or both."))
        visit, stop = data.get("visit"), data.get("stop")
        if visit is not None and stop is not None and stop.visit_id != visit.pk:
            self.add_error(
                "stop",
                _("“%(stop)s” is a stop of another visit; choose one of “%(visit)s”.")
                % {"stop": stop, "visit": visit},
            )
        return data


@admin.register(LiveUpdate)
class LiveUpdateAdmin(AuditedAdmin, TranslationAdmin):
    form = LiveUpdateAdminForm
    list_display = ["text", "posted_at", "stop", "visit", "author"]
    list_filter = ["visit"]
    list_select_related = ["visit", "stop", "author"]
    search_fields = ["text_en", "text_fr"]
    fields = ["visit", "stop", ("text_en", "text_fr"), "posted_at"]
    date_hierarchy = "posted_at"

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        # An update is a sentence or two: a box that shows it whole, in each language.
        if db_field.name in ("text_en", "text_fr"):
            kwargs["widget"] = forms.Textarea(attrs={"rows": 3, "cols": 40})
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_object(self, request, obj, form, change):
        live_services.live_update_save(update=obj, author=request.user)


@admin.register(StopChange)
class StopChangeAdmin(AuditedAdmin):
    list_display = [
        "stop_title",
        "visit",
        "old_starts_at",
        "new_starts_at",
        "moved_from",
        "moved_to",
        "changed_at",
        "changed_by",
        "notified_at",
    ]
    list_filter = ["visit", "notified_at"]
    list_select_related = ["visit", "changed_by", "from_location", "to_location"]

    # A place that still exists is named in the reader's language; one removed
    # since, as it was written when the stop changed.
    @admin.display(description=_("old place"))
    def moved_from(self, change: StopChange) -> str:
        return change.from_location.name if change.from_location else change.old_location

    @admin.display(description=_("new place"))
    def moved_to(self, change: StopChange) -> str:
        return change.to_location.name if change.to_location else change.new_location

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
