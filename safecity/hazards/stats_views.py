"""Hazards pages (placeholder until filled)."""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
