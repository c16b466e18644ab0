"""The one error type of the HTTP API: a status and a message, answered as JSON {"error": message}."""

from __future__ import annotations


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
