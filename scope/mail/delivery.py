"""Delivery of the outbox."""

from flask import Flask


def register(app: Flask) -> None:
    return None
