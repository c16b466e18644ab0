"""The HTTP face of the engine, kept at its old address: the app is built in taina/http/app.py."""

from taina.http.app import create_app

__all__ = ["create_app"]
