"""Mask credentials before text reaches the logs.

The only secrets gxcpool holds are passwords inside URLs (a PostgreSQL
database URL such as postgresql+psycopg://pool:SECRET@db/gxcpool); they are
replaced by *** wherever a URL is logged.
"""
import re

# scheme://user:password@  ->  scheme://user:***@
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^/@:\s]*:)[^/@\s]+@")


def redact(text: str) -> str:
    return _URL_PASSWORD.sub(r"\1***@", text)
