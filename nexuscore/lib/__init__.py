"""Helpers with no models: mail, HTMX responses, tasks in a schema, Singapore identifiers."""
