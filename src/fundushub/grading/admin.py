"""Grading reference data in the admin: schemes (fields, values), programmes (their outcome
rules, checked against the programme's scheme); examinations and gradings to look at, not to make.

Django has no nested inlines: a scheme lists its fields, and each field (its own page, linked
from the scheme) lists its values.
"""

from django import forms
from django.contrib import admin
from django.forms.models import BaseInlineFormSet

from fundushub.audit.models import record
from fundushub.grading.models import (
    ExamGrading,
    Examination,
    OutcomeRule,
    Programme,
    Scheme,
    SchemeField,
    SchemeValue,
)


def _field_codes(scheme_id) -> dict[str, list[str]]:
    """{field code: [value codes]} of a scheme."""
    codes: dict[str, list[str]] = {}
    for field, value in SchemeValue.objects.filter(field__scheme_id=scheme_id).values_list(
        "field__code", "code"
    ):
        codes.setdefault(field, []).append(value)
    for field in SchemeField.objects.filter(scheme_id=scheme_id).values_list("code", flat=True):
        codes.setdefault(field, [])
    return codes


class SchemeFieldInline(admin.TabularInline):
    model = SchemeField
    extra = 0
    fields = ["position", "code", "name"]
    ordering = ["position", "code"]
    show_change_link = True  # its values are edited on the field's own page


@admin.register(Scheme)
class SchemeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "field_codes"]
    search_fields = ["code", "name"]
    inlines = [SchemeFieldInline]

    @admin.display(description="Fields")
    def field_codes(self, scheme):
        return ", ".join(f.code for f in scheme.fields.all()) or "—"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("fields")


class SchemeValueInline(admin.TabularInline):
    model = SchemeValue
    extra = 0
    fields = ["position", "code", "label", "key", "referable", "ungradable"]
    ordering = ["position", "code"]


@admin.register(SchemeField)
class SchemeFieldAdmin(admin.ModelAdmin):
    list_display = ["__str__", "name", "position", "value_codes"]
    list_filter = ["scheme"]
    search_fields = ["code", "name", "scheme__code"]
    list_select_related = ["scheme"]
    inlines = [SchemeValueInline]

    @admin.display(description="Values")
    def value_codes(self, field):
        return ", ".join(v.code for v in field.values.all()) or "—"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("values")


class OutcomeRuleFormSet(BaseInlineFormSet):
    """Each rule names a field of the programme's scheme and values of that field; a rule with
    no field is the fallback and names no values."""

    def clean(self):
        super().clean()
        scheme_id = getattr(self.instance, "scheme_id", None)
        if scheme_id is None:
            return  # the programme form says what is missing
        codes = _field_codes(scheme_id)
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE"):
                continue
            field = (data.get("field") or "").strip()
            values = [v.strip() for v in (data.get("values") or "").split(",") if v.strip()]
            if not field:
                if values:
                    form.add_error(
                        "values", "A rule with no field always holds: leave its values empty."
                    )
                continue
            if field not in codes:
                form.add_error(
                    "field",
                    f"{field} is not a field of this programme's scheme; "
                    f"use one of {', '.join(codes) or '(the scheme has no fields)'}.",
                )
                continue
            unknown = [v for v in values if v not in codes[field]]
            if not values:
                form.add_error("values", f"Name the {field} values this rule is about.")
            elif unknown:
                form.add_error(
                    "values",
                    f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not "
                    f"{field} values; use {', '.join(codes[field])}.",
                )


class OutcomeRuleInline(admin.TabularInline):
    model = OutcomeRule
    formset = OutcomeRuleFormSet
    extra = 0
    fields = ["position", "field", "values", "eyes", "outcome", "rule"]
    readonly_fields = ["rule"]
    ordering = ["position", "pk"]

    @admin.display(description="Reads as")
    def rule(self, rule):
        return rule.description if rule.pk else "—"


WHO_GRADES = [
    "second_all",
    "second_referable",
    "qa_sample_percent",
    "compare_fields",
    "exclude_own",
    "claim_minutes",
]


class ProgrammeForm(forms.ModelForm):
    class Meta:
        model = Programme
        fields = ["name", "scheme", "lab_units", *WHO_GRADES]

    def clean(self):
        data = super().clean()
        scheme = data.get("scheme")
        compare = data.get("compare_fields")
        if scheme is None or compare is None or "compare_fields" in self.errors:
            return data
        if not isinstance(compare, list) or not all(isinstance(c, str) for c in compare):
            self.add_error(
                "compare_fields", 'Give a list of field codes, e.g. ["M"], or [] for none.'
            )
            return data
        codes = _field_codes(scheme.pk)
        unknown = [c for c in compare if c not in codes]
        if unknown:
            self.add_error(
                "compare_fields",
                f"{', '.join(unknown)}: not a field of {scheme.code}; "
                f"use field codes of {', '.join(codes) or 'the scheme'}.",
            )
        return data


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    form = ProgrammeForm
    list_display = ["name", "scheme", "second_all", "second_referable", "qa_sample_percent"]
    list_filter = ["scheme"]
    search_fields = ["name"]
    filter_horizontal = ["lab_units"]
    inlines = [OutcomeRuleInline]
    fieldsets = [
        (None, {"fields": ["name", "scheme", "lab_units"]}),
        ("Second grading and arbitration", {"fields": WHO_GRADES}),
    ]


class ExamGradingInline(admin.TabularInline):
    model = ExamGrading
    extra = 0
    max_num = 0
    can_delete = False
    fields = ["created_at", "role", "revision", "grader", "outcome", "outcome_rule", "notes"]
    readonly_fields = fields
    ordering = ["created_at", "pk"]
    show_change_link = True


@admin.register(Examination)
class ExaminationAdmin(admin.ModelAdmin):
    """Examinations come from uploads and cameras and move on through the workflow, which audits
    every step: here they are looked at, and only the programme is set (an examination with
    none cannot be graded)."""

    list_display = ["subject", "visit_date", "lab_unit", "programme", "stage", "outcome"]
    list_filter = ["stage", "outcome", "programme", "hospital", "lab_unit"]
    list_select_related = ["lab_unit", "programme"]
    search_fields = ["subject_identifier"]
    date_hierarchy = "visit_date"
    autocomplete_fields = ["programme"]
    inlines = [ExamGradingInline]
    editable = ["programme"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Examination._meta.fields if f.name not in self.editable]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Subject", ordering="subject_identifier")
    def subject(self, exam):
        return exam.subject_identifier or "Unknown subject"

    def save_model(self, request, obj, form, change):
        before = form.initial.get("programme")
        super().save_model(request, obj, form, change)
        if "programme" in form.changed_data:
            record(
                "examination.programme_set",
                request=request,
                obj=obj,
                before={"programme": before},
                after={"programme": obj.programme_id},
            )


@admin.register(ExamGrading)
class ExamGradingAdmin(admin.ModelAdmin):
    """Gradings are only added by the workflow (revisions included): read-only here."""

    list_display = ["examination", "role", "revision", "grader", "outcome", "created_at"]
    list_filter = ["role", "outcome"]
    list_select_related = ["examination", "grader"]
    search_fields = ["examination__subject_identifier", "grader__username"]
    readonly_fields = [f.name for f in ExamGrading._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
