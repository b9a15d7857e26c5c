"""Scheduling REST API, one module per resource."""
