"""The default grading schemes (DR as NHS DESP R/M/P, Glaucoma, AMD) and their programmes."""

from django.db import migrations


def forwards(apps, schema_editor):
    from fundushub.grading.defaults import load_defaults

    names = ("Scheme", "SchemeField", "SchemeValue", "Programme", "OutcomeRule")
    load_defaults(*(apps.get_model("grading", n) for n in names))


class Migration(migrations.Migration):
    dependencies = [("grading", "0002_examinations")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
