"""Risk grading REST API (filled by the risk capability)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/risk", tags=["risk"])
