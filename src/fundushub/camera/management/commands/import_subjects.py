import csv
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from fundushub.camera.models import Subject
from fundushub.catalog.models import Hospital

COLUMNS = ["subject_identifier", "initials", "sex", "date_of_birth", "site"]


def _site(raw: str):
    raw = raw.strip()
    if raw.isdigit():
        found = Hospital.objects.filter(pk=int(raw)).first()
        if found:
            return found
    return Hospital.objects.filter(name=raw).first()


def parse_row(row: dict) -> tuple[dict | None, str]:
    identifier = (row.get("subject_identifier") or "").strip()
    if not identifier:
        return None, "subject_identifier is empty"
    if len(identifier) > 50 or "/" in identifier:
        return None, "subject_identifier must be at most 50 characters and contain no '/'"
    sex = (row.get("sex") or "").strip().upper()
    if sex not in ("", "M", "F"):
        return None, f"sex must be M or F, not {row.get('sex')!r}"
    dob = None
    if (row.get("date_of_birth") or "").strip():
        try:
            dob = date.fromisoformat(row["date_of_birth"].strip())
        except ValueError:
            return None, f"date_of_birth must be YYYY-MM-DD, not {row['date_of_birth']!r}"
    site = _site(row.get("site") or "")
    if site is None:
        return None, f"site {row.get('site')!r} is neither a hospital id nor a hospital name"
    initials = (row.get("initials") or "").strip()[:10]
    return {"initials": initials, "sex": sex, "date_of_birth": dob, "site": site}, identifier


class Command(BaseCommand):
    help = (
        "Import or update subjects from a CSV file with the columns "
        "subject_identifier,initials,sex,date_of_birth,site (site: hospital id or exact name; "
        "date_of_birth: YYYY-MM-DD). Bad rows are reported with their line numbers; good rows are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("csv_file")

    def handle(self, *args, csv_file, **options):
        try:
            f = open(csv_file, newline="", encoding="utf-8-sig")  # noqa: SIM115
        except OSError as e:
            raise CommandError(f"Cannot read {csv_file}: {e.strerror}") from e
        created = updated = 0
        bad = []
        with f:
            reader = csv.DictReader(f)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise CommandError(f"{csv_file} lacks the column(s): {', '.join(missing)}")
            for row in reader:
                values, identifier_or_error = parse_row(row)
                if values is None:
                    bad.append((reader.line_num, identifier_or_error))
                    continue
                _, was_created = Subject.objects.update_or_create(
                    subject_identifier=identifier_or_error, defaults=values
                )
                created += was_created
                updated += not was_created
        for line, why in bad:
            self.stderr.write(f"line {line}: {why}")
        self.stdout.write(f"{created} created, {updated} updated, {len(bad)} rejected.")
        if bad:
            raise SystemExit(1)
