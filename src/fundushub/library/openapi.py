"""OpenAPI path for the image API the viewer uses (a plain Django view, so described by hand)."""

SESSION = [{"cookieAuth": []}]
ERROR = {"$ref": "#/components/schemas/PageError"}
_REF = {
    "type": "object",
    "nullable": True,
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
}
IMAGE = {
    "type": "object",
    "required": ["id", "source", "md5", "sha256", "grades", "urls"],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "created_at": {"type": "string", "format": "date-time"},
        "source": {"type": "string", "enum": ["direct", "camera"]},
        "uploaded_by": {"type": "string", "nullable": True},
        "hospital": _REF,
        "lab_unit": _REF,
        "camera": _REF,
        "disease": _REF,
        "area": _REF,
        "subject": {"type": "string", "nullable": True},
        "filename": {"type": "string"},
        "content_type": {"type": "string"},
        "size": {"type": "integer"},
        "width": {"type": "integer", "nullable": True},
        "height": {"type": "integer", "nullable": True},
        "md5": {"type": "string"},
        "sha256": {"type": "string"},
        "grades": {"type": "array", "items": {"type": "object"}},
        "has_edit": {"type": "boolean"},
        "urls": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def _json(schema, description):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


PATHS = {
    "/api/images/{image_id}": {
        "get": {
            "operationId": "image_document",
            "summary": "One image's metadata, grades and links (images you may see only)",
            "tags": ["pages"],
            "security": SESSION,
            "parameters": [
                {
                    "name": "image_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "format": "uuid"},
                }
            ],
            "responses": {
                "200": _json(IMAGE, ""),
                "401": _json(ERROR, 'Not signed in: `{"error": "Authentication required"}`.'),
                "404": _json(ERROR, "No such image, or not one you may see."),
            },
        }
    }
}
