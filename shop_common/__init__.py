"""Plumbing shared by the five services: settings, database pool, errors, auth, request ids, HTTP client,
metrics, traces and logs.

It imports from no service.
"""
