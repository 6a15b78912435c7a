"""The merchant REST API's shared machinery: the error envelope, the OpenAPI schema class,
pagination, and the views that are not about one domain (schema, docs, unknown paths)."""
