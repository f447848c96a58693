"""stub"""
from flask import Blueprint


def blueprint() -> Blueprint:
    return Blueprint("openapi", __name__)
