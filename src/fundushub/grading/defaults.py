"""The schemes and programmes every installation starts with; admins extend them as data.

DR follows the NHS Diabetic Eye Screening Programme's feature-based form: retinopathy (R0, R1,
R2, R3a active proliferative, R3s stable treated, U ungradable), maculopathy (M0/M1) and
photocoagulation (P0/P1) per eye. The outcome rules are this installation's defaults, to be
adjusted per programme in the admin: the first rule that holds decides.
"""

# scheme code (= the disease code its images carry), name, fields:
#   field code, name, values: (code, label, key, referable, ungradable)
SCHEMES = [
    (
        "DR",
        "Diabetic retinopathy (NHS DESP feature-based)",
        [
            (
                "R",
                "Retinopathy",
                [
                    ("R0", "None", "0", False, False),
                    ("R1", "Background", "1", False, False),
                    ("R2", "Pre-proliferative", "2", True, False),
                    ("R3a", "Active proliferative", "3", True, False),
                    ("R3s", "Stable treated proliferative", "4", False, False),
                    ("U", "Ungradable", "u", False, True),
                ],
            ),
            (
                "M",
                "Maculopathy",
                [("M0", "None", "0", False, False), ("M1", "Maculopathy", "1", True, False)],
            ),
            (
                "P",
                "Photocoagulation",
                [("P0", "None", "0", False, False), ("P1", "Laser scars", "1", False, False)],
            ),
        ],
    ),
    (
        "Glaucoma",
        "Glaucoma",
        [
            (
                "G",
                "Optic disc",
                [
                    ("G0", "No glaucomatous signs", "0", False, False),
                    ("G1", "Glaucoma suspect", "1", True, False),
                    ("G2", "Glaucomatous optic neuropathy", "2", True, False),
                    ("U", "Ungradable", "u", False, True),
                ],
            )
        ],
    ),
    (
        "AMD",
        "Age-related macular degeneration",
        [
            (
                "A",
                "Macula",
                [
                    ("A0", "No AMD", "0", False, False),
                    ("A1", "Early AMD", "1", False, False),
                    ("A2", "Intermediate AMD", "2", True, False),
                    ("A3", "Late AMD", "3", True, False),
                    ("U", "Ungradable", "u", False, True),
                ],
            )
        ],
    ),
]

# programme name, scheme code, rules: (field, values, eyes, outcome); "" field = otherwise.
PROGRAMMES = [
    (
        "Diabetic eye screening",
        "DR",
        [
            ("R", "R3a", "any", "refer_urgent"),
            ("R", "R2", "any", "refer_soon"),
            ("M", "M1", "any", "refer_soon"),
            ("R", "R3s", "any", "refer_routine"),
            ("R", "U", "any", "reimage"),
            ("R", "R0", "both", "recall_24"),
            ("", "", "any", "recall_12"),
        ],
    ),
    (
        "Glaucoma screening",
        "Glaucoma",
        [
            ("G", "G2", "any", "refer_soon"),
            ("G", "G1", "any", "refer_routine"),
            ("G", "U", "any", "reimage"),
            ("", "", "any", "recall_12"),
        ],
    ),
    (
        "AMD screening",
        "AMD",
        [
            ("A", "A3", "any", "refer_urgent"),
            ("A", "A2", "any", "refer_routine"),
            ("A", "U", "any", "reimage"),
            ("A", "A0", "both", "recall_24"),
            ("", "", "any", "recall_12"),
        ],
    ),
]


def load_defaults(Scheme, SchemeField, SchemeValue, Programme, OutcomeRule) -> int:
    """Create the default schemes and programmes that are missing (idempotent; an admin's own
    changes are left alone). Takes the model classes so a migration can pass its historical ones."""
    added = 0
    for code, name, fields in SCHEMES:
        scheme, created = Scheme.objects.get_or_create(code=code, defaults={"name": name})
        added += created
        if not created:
            continue
        for f_pos, (f_code, f_name, values) in enumerate(fields):
            field = SchemeField.objects.create(
                scheme=scheme, code=f_code, name=f_name, position=f_pos
            )
            for v_pos, (v_code, label, key, referable, ungradable) in enumerate(values):
                SchemeValue.objects.create(
                    field=field,
                    code=v_code,
                    label=label,
                    key=key,
                    position=v_pos,
                    referable=referable,
                    ungradable=ungradable,
                )
    for name, scheme_code, rules in PROGRAMMES:
        scheme = Scheme.objects.get(code=scheme_code)
        programme, created = Programme.objects.get_or_create(name=name, defaults={"scheme": scheme})
        added += created
        if not created:
            continue
        for pos, (field, values, eyes, outcome) in enumerate(rules):
            OutcomeRule.objects.create(
                programme=programme,
                position=pos,
                field=field,
                values=values,
                eyes=eyes,
                outcome=outcome,
            )
    return added


def ensure_defaults() -> int:
    """load_defaults with this code's models (a database emptied since its migrations ran)."""
    from fundushub.grading.models import OutcomeRule, Programme, Scheme, SchemeField, SchemeValue

    return load_defaults(Scheme, SchemeField, SchemeValue, Programme, OutcomeRule)
