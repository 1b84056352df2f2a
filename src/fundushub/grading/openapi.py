"""OpenAPI path for an examination's status (a plain Django view, so described by hand)."""

SESSION = [{"cookieAuth": []}]
ERROR = {"$ref": "#/components/schemas/PageError"}
_REF = {
    "type": "object",
    "required": ["id", "name"],
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
}
_STAGES = ["primary", "secondary", "arbitration", "done"]
_OUTCOMES = [
    "recall_12",
    "recall_24",
    "refer_routine",
    "refer_soon",
    "refer_urgent",
    "reimage",
    "graded_elsewhere",
]
_ROLES = ["primary", "secondary", "arbitration", "revision", "pre_graded"]
GRADING = {
    "type": "object",
    "required": ["role", "revision", "at", "grader", "outcome", "final"],
    "properties": {
        "role": {"type": "string", "enum": _ROLES},
        "revision": {"type": "integer"},
        "at": {"type": "string", "format": "date-time"},
        "grader": {"type": "string", "nullable": True},
        "outcome": {
            "type": "string",
            "nullable": True,
            "description": "withheld (null) from a possible blind second grader",
        },
        "final": {"type": "boolean"},
        "values": {
            "type": "object",
            "description": 'per eye and field, e.g. {"right": {"R": "R1"}}; once decided only',
            "additionalProperties": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
}
EXAMINATION = {
    "type": "object",
    "required": ["id", "visit_date", "hospital", "lab_unit", "stage", "gradings", "images"],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "subject": {"type": "string", "nullable": True},
        "visit_date": {"type": "string", "format": "date"},
        "hospital": _REF,
        "lab_unit": _REF,
        "programme": {"type": "string", "nullable": True},
        "stage": {"type": "string", "enum": _STAGES},
        "outcome": {
            "type": "object",
            "nullable": True,
            "required": ["code", "label", "rule", "referable"],
            "properties": {
                "code": {"type": "string", "enum": _OUTCOMES},
                "label": {"type": "string"},
                "rule": {"type": "string", "description": "the rule that fired"},
                "referable": {"type": "boolean", "nullable": True},
            },
        },
        "decided_at": {"type": "string", "format": "date-time", "nullable": True},
        "decided_by": {"type": "string", "nullable": True},
        "decided_reason": {"type": "string", "nullable": True},
        "gradings": {"type": "array", "items": GRADING},
        "images": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "eye", "source"],
                "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "eye": {"type": "string", "enum": ["right", "left"], "nullable": True},
                    "source": {"type": "string", "enum": ["direct", "camera"]},
                },
            },
        },
        "urls": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def _json(schema, description):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


PATHS = {
    "/api/examinations/{exam_id}": {
        "get": {
            "operationId": "examination_status",
            "summary": "One examination's stage, outcome, gradings and images (your lab units only)",
            "tags": ["pages"],
            "security": SESSION,
            "parameters": [
                {
                    "name": "exam_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "format": "uuid"},
                }
            ],
            "responses": {
                "200": _json(EXAMINATION, ""),
                "401": _json(ERROR, 'Not signed in: `{"error": "Authentication required"}`.'),
                "404": _json(ERROR, "No such examination, or not one you may see."),
            },
        }
    }
}
