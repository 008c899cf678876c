"""Risk grading web pages (filled by the risk capability)."""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
