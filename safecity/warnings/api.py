"""Warnings REST API."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/warnings", tags=["warnings"])
