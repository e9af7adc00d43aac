"""Plumbing shared by the five services: settings, database pool, errors, auth, request ids, HTTP client.

It imports from no service.
"""
