"""OpenAPI paths for the JSON the upload pages use (plain Django views, so described by hand).

Merged into /api/schema/ by fundushub.openapi; schemathesis checks the views against it.
"""

from fundushub.uploads.api import DUPLICATES_MAX_BYTES, MAX_HASHES, MAX_SUBJECT_ITEMS

SESSION = [{"cookieAuth": []}]
ERROR = {"$ref": "#/components/schemas/PageError"}


def _json(schema, description):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


UNAUTHENTICATED = _json(ERROR, 'Not signed in: `{"error": "Authentication required"}`.')
NOT_FOUND = _json(ERROR, "No such item, or not one you may see.")

_REF = {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}
OPTIONS = {
    "type": "object",
    "required": ["hospitals", "cameras", "diseases", "areas", "limits", "quota"],
    "properties": {
        "hospitals": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "name": {"type": "string"},
                    "lab_units": {"type": "array", "items": _REF},
                },
            },
        },
        "cameras": {"type": "array", "items": _REF},
        "diseases": {"type": "array", "items": _REF},
        "areas": {"type": "array", "items": _REF},
        "limits": {
            "type": "object",
            "properties": {
                "max_file_size_mb": {"type": "integer"},
                "max_file_size_bytes": {"type": "integer"},
                "max_files": {"type": "integer"},
                "max_files_per_user": {"type": "integer"},
            },
        },
        "quota": {
            "type": "object",
            "properties": {
                "quota": {"type": "integer", "description": "0: unlimited"},
                "used": {"type": "integer"},
                "remaining": {"type": "integer", "nullable": True},
            },
        },
    },
}
JOB = {
    "type": "object",
    "required": ["job_id", "status", "total", "processed", "finished", "items"],
    "properties": {
        "job_id": {"type": "string", "format": "uuid"},
        "status": {"type": "string"},
        "error": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "completed_at": {"type": "string", "format": "date-time", "nullable": True},
        "total": {"type": "integer"},
        "processed": {"type": "integer"},
        "percent": {"type": "integer"},
        "finished": {"type": "boolean"},
        # Every file chosen (the browser's left-outs included), each counted once, as the pages say.
        "outcome": {
            "type": "object",
            "properties": {
                **{
                    name: {"type": "integer", "minimum": 0}
                    for name in (
                        "selected",
                        "stored",
                        "already_stored",
                        "failed",
                        "pending",
                        "left_out",
                        "in_store",
                    )
                },
                "text": {"type": "string"},
            },
        },
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "filename": {"type": "string"},
                    "state": {"type": "string"},
                    "detail": {"type": "string"},
                    "image_id": {"type": "string", "format": "uuid", "nullable": True},
                    "size": {"type": "integer", "nullable": True},
                    "subject": {"type": "string", "description": "the file's subject, or empty"},
                    "eye": {
                        "type": "string",
                        "nullable": True,
                        "description": "the file's area (its own, else the job's); null: unknown",
                    },
                    "checks": {
                        "type": "object",
                        "nullable": True,
                        "description": "what the checks at ingest found on the stored image "
                        "(they land seconds after storing); null: no image",
                        "properties": {
                            "state": {
                                "type": "string",
                                "enum": ["checking", "done", "not_checked"],
                            },
                            "text": {"type": "string", "description": "Checking…, Not checked"},
                            "flagged": {"type": "boolean"},
                            "clear": {
                                "type": "boolean",
                                "description": "every check found nothing",
                            },
                            "checks": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "name": {"type": "string"},
                                        "label": {"type": "string"},
                                        "verdict": {"type": "string"},
                                        "reason": {"type": "string"},
                                        "flagged": {"type": "boolean"},
                                        "tone": {
                                            "type": "string",
                                            "enum": ["flag", "note", "error", "ok"],
                                        },
                                        "text": {"type": "string", "description": "in words"},
                                        "twin_id": {"type": "string", "nullable": True},
                                        "twin_url": {
                                            "type": "string",
                                            "nullable": True,
                                            "description": "the near-duplicate's viewer page, "
                                            "only when the reader may see it",
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}
DUPLICATES_REQUEST = {
    "type": "object",
    "required": ["hospital"],
    "properties": {
        "hospital": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
        "md5": {
            "type": "array",
            "maxItems": MAX_HASHES,
            "items": {"type": "string", "pattern": "^[0-9a-fA-F]{32}$"},
        },
    },
}

_CHECKED = {
    "type": "object",
    "properties": {
        "subject": {"type": "string"},
        "error": {"type": "string", "description": "why it is not a valid identifier, or empty"},
    },
}
SUBJECTS_REQUEST = {
    "type": "object",
    "required": ["hospital"],
    "properties": {
        "hospital": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
        "pattern": {
            "type": "string",
            "description": "read subjects from names with this; empty: the server's pattern",
        },
        "names": {
            "type": "array",
            "maxItems": MAX_SUBJECT_ITEMS,
            "items": {"type": "string", "maxLength": 255},
        },
        "subjects": {
            "type": "array",
            "maxItems": MAX_SUBJECT_ITEMS,
            "items": {"type": "string", "maxLength": 255},
        },
    },
}
SUBJECTS = {
    "type": "object",
    "required": ["pattern", "names", "subjects", "registry", "unknown"],
    "properties": {
        "pattern": {"type": "string", "description": "the pattern the names were read with"},
        "names": {"type": "array", "items": _CHECKED, "description": "one per name sent"},
        "subjects": {"type": "array", "items": _CHECKED, "description": "one per subject sent"},
        "registry": {"type": "boolean", "description": "whether the hospital keeps a registry"},
        "unknown": {"type": "array", "items": {"type": "string"}},
        "hospital": {"type": "string"},
    },
}

PATHS = {
    "/api/direct-upload/options": {
        "get": {
            "operationId": "direct_upload_options",
            "summary": "What the signed-in user may choose on the upload form, limits and quota",
            "tags": ["pages"],
            "security": SESSION,
            "responses": {"200": _json(OPTIONS, ""), "401": UNAUTHENTICATED},
        }
    },
    "/api/direct-upload/duplicates": {
        "post": {
            "operationId": "direct_upload_duplicates",
            "summary": "Which of these MD5s are already stored for this hospital",
            "description": "Needs the CSRF token (header `X-CSRFToken`) as every signed-in POST. "
            f"Bodies over {DUPLICATES_MAX_BYTES // 1000} kB are refused.",
            "tags": ["pages"],
            "security": SESSION,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": DUPLICATES_REQUEST}},
            },
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["duplicates"],
                        "properties": {
                            "duplicates": {"type": "array", "items": {"type": "string"}}
                        },
                    },
                    "The MD5s already stored (lower case).",
                ),
                "400": _json(ERROR, "The body is not what is described; the message says why."),
                "401": UNAUTHENTICATED,
                "403": _json(ERROR, "No lab unit of yours is in that hospital (or no CSRF token)."),
            },
        }
    },
    "/api/direct-upload/subjects": {
        "post": {
            "operationId": "direct_upload_subjects",
            "summary": "The subjects a pattern reads from file names, and those the registry lacks",
            "description": "What an upload with these subjects would be refused for, asked before "
            "it is sent. Needs the CSRF token (header `X-CSRFToken`) as every signed-in POST.",
            "tags": ["pages"],
            "security": SESSION,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": SUBJECTS_REQUEST}},
            },
            "responses": {
                "200": _json(SUBJECTS, ""),
                "400": _json(
                    ERROR, "The body or the pattern cannot be used; the message says why."
                ),
                "401": UNAUTHENTICATED,
                "403": _json(ERROR, "No lab unit of yours is in that hospital (or no CSRF token)."),
            },
        }
    },
    "/api/upload-jobs/{job_id}/status": {
        "get": {
            "operationId": "upload_job_status",
            "summary": "An upload job's progress and every file's outcome",
            "tags": ["pages"],
            "security": SESSION,
            "parameters": [
                {
                    "name": "job_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "format": "uuid"},
                }
            ],
            "responses": {"200": _json(JOB, ""), "401": UNAUTHENTICATED, "404": NOT_FOUND},
        }
    },
}
