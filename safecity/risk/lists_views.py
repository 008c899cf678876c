"""Four lists (四张清单) and four-colour map (四色图) web pages."""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
