"""/api/schema/ (OpenAPI from the code) and /api/docs/ (served without any CDN)."""

import re

import yaml
from django.test import Client


def schema(client, **headers) -> dict:
    response = client.get("/api/schema/", **headers)
    assert response.status_code == 200, response.content[:500]
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return yaml.safe_load(content)


def test_the_schema_is_an_openapi_document_listing_the_camera_paths(db):
    doc = schema(Client())
    assert str(doc["openapi"]).startswith("3.")
    paths = doc["paths"]
    for path in (
        "/api/retinopathy/ping/",
        "/api/retinopathy/resolve/",
        "/api/retinopathy/{subject_identifier}/status/",
        "/api/retinopathy/{subject_identifier}/{file_type}/",
    ):
        assert path in paths, sorted(paths)
    assert "get" in paths["/api/retinopathy/ping/"]
    assert "post" in paths["/api/retinopathy/resolve/"]
    assert "post" in paths["/api/retinopathy/{subject_identifier}/{file_type}/"]
    assert "get" in paths["/api/retinopathy/{subject_identifier}/status/"]


def test_the_schema_documents_the_token_scheme_and_both_session_parameters(db):
    doc = schema(Client())
    schemes = doc.get("components", {}).get("securitySchemes", {})
    assert any(
        s.get("type") == "apiKey" and "Token" in s.get("description", "") + str(s)
        for s in schemes.values()
    ), schemes
    upload = doc["paths"]["/api/retinopathy/{subject_identifier}/{file_type}/"]["post"]
    names = {p["name"] for p in upload.get("parameters", [])}
    assert {"session_id", "eye_exam_register_id"} <= names


def test_the_schema_is_available_as_json(db):
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert "/api/retinopathy/resolve/" in response.json()["paths"]


def test_the_docs_page_renders_and_loads_nothing_from_a_cdn(db):
    client = Client()
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger" in html.lower()
    assets = re.findall(
        r"""<(?:script|link|img)\b[^>]*?\b(?:src|href)\s*=\s*["']([^"']+)["']""", html
    )
    assert assets, html
    for url in assets:
        # Static files, or the split view's own init script (same origin; the CSP forbids inline).
        assert url.startswith(("/static/", "/api/docs/")), f"{url} is not served by this site"
    assert "cdn" not in html.lower()
    assert "unpkg" not in html.lower() and "jsdelivr" not in html.lower()
    for url in assets:
        asset = client.get(url)
        assert asset.status_code == 200, url


def test_the_docs_point_at_the_local_schema(db):
    client = Client()
    html = client.get("/api/docs/").content.decode()
    init_script = client.get("/api/docs/?script=").content.decode()
    assert "/api/schema/" in html + init_script
    assert "<script>" not in html, "inline script: the CSP would block it"


def test_every_operation_documents_its_401(db):
    doc = schema(Client())
    for path, operations in doc["paths"].items():
        if path == "/api/schema/":
            continue
        for method, operation in operations.items():
            assert "401" in operation["responses"], f"{method.upper()} {path}"


def test_file_types_are_an_enum_and_lengths_are_limits(db):
    doc = schema(Client())
    upload = doc["paths"]["/api/retinopathy/{subject_identifier}/{file_type}/"]["post"]
    params = {p["name"]: p["schema"] for p in upload["parameters"]}
    file_type = params["file_type"]
    if "$ref" in file_type:
        file_type = doc["components"]["schemas"][file_type["$ref"].rsplit("/", 1)[1]]
    assert set(file_type["enum"]) == {
        "left",
        "right",
        "left_dicom",
        "right_dicom",
        "report",
        "left_report",
        "right_report",
    }
    assert params["subject_identifier"]["maxLength"] == 50
    form = upload["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["properties"]["file"]["format"] == "binary"
    assert form["properties"]["checksum"]["maxLength"] == 64
    resolve_body = doc["components"]["schemas"]["ResolveRequest"]
    assert resolve_body["properties"]["subject_identifier"]["maxLength"] == 50


def test_the_json_the_pages_use_is_documented_with_its_session_cookie(db):
    doc = schema(Client())
    for path, method in (
        ("/api/direct-upload/options", "get"),
        ("/api/direct-upload/duplicates", "post"),
        ("/api/upload-jobs/{job_id}/status", "get"),
        ("/api/images/{image_id}", "get"),
    ):
        assert doc["paths"][path][method]["security"] == [{"cookieAuth": []}], path
    assert doc["components"]["securitySchemes"]["cookieAuth"]["in"] == "cookie"
    duplicates = doc["paths"]["/api/direct-upload/duplicates"]["post"]["requestBody"]
    body = duplicates["content"]["application/json"]["schema"]
    assert body["properties"]["md5"]["maxItems"] == 1000
    assert body["properties"]["hospital"]["maximum"] == 2**63 - 1
