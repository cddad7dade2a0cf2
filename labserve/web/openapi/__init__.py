"""The OpenAPI document: built at request time from the served models and the settings.

``document`` assembles it and serves it at ``/api/v1/openapi.json``; ``schemas`` holds the
shared component schemas, ``components`` the error answers, security and headers,
``operations`` each model's routes, ``csv_bodies`` the CSV uploads, ``tutorial`` the
tutorial's routes. The page at ``/docs`` (``labserve.web.docs``) renders it.
"""

from labserve.web.openapi.document import build_spec, openapi

__all__ = ["build_spec", "openapi"]
