"""Small, single-purpose defences of the site (docs/security.md lists each one and why).

Not a Django app: middleware, an upload handler and helpers that settings.py and the views
name directly.
"""
