"""Hazards REST API."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/hazards", tags=["hazards"])
