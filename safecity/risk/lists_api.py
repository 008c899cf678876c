"""Four lists (四张清单) and four-colour map REST API."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/risk", tags=["risk"])
