"""OpenAPI post-processing: document the ``X-Organization`` header on tenant-scoped calls."""

ORGANIZATION_PARAMETER = {
    "name": "X-Organization",
    "in": "header",
    "required": False,
    "description": "Slug of the organization to act in. Defaults to your only organization.",
    "schema": {"type": "string"},
}
UNSCOPED_PREFIXES = ("/api/v1/auth/", "/api/v1/me/")


def add_organization_header(result, generator, request, public):
    for path, operations in result.get("paths", {}).items():
        if path.startswith(UNSCOPED_PREFIXES):
            continue
        for operation in operations.values():
            operation.setdefault("parameters", []).append(ORGANIZATION_PARAMETER)
    return result
