"""The hidden-danger loop written down from the domain, independently of safecity.hazards.workflow.

排查 → 评估认定 → 登记预警 → 整改（方案）→ 申请验收 → 验收销号. Who may take each step, stated
per role as the business describes it; the state-machine tests compare the module with this,
so a change to the module's own tables cannot quietly change what is allowed.
"""

from __future__ import annotations

# Each step: the status it starts from, where it leads for a general and for a major hidden
# danger (a major one's plan waits for the supervising authority: 挂牌督办).
STEPS: dict[str, tuple[str, str, str]] = {
    "confirm": ("reported", "confirmed", "confirmed"),
    "reject": ("reported", "rejected", "rejected"),
    "register": ("confirmed", "registered", "registered"),
    "submit_plan": ("registered", "rectifying", "plan_submitted"),
    "approve_plan": ("plan_submitted", "rectifying", "rectifying"),
    "reject_plan": ("plan_submitted", "registered", "registered"),
    "submit_acceptance": ("rectifying", "submitted", "submitted"),
    "accept": ("submitted", "closed", "closed"),
    "return": ("submitted", "rectifying", "rectifying"),
}
FINAL = {"rejected", "closed"}

# Every (from, to) step the loop knows, for tests that only see statuses.
ALLOWED_STEPS = {(src, to) for src, general, major in STEPS.values() for to in (general, major)}

# Who the actor is relative to the hidden danger; tests build actors for each of these.
#   own_enterprise: the safety officer of the enterprise that has the hidden danger
#   supervising_*: a government role of the division named to supervise a major one
RELATIONS = (
    "admin_city",
    "commander_city",
    "duty_officer",
    "risk_analyst",
    "inspector_city",
    "liaison",
    "district_officer",
    "district_officer_elsewhere",
    "grid_member",
    "own_enterprise",
    "other_enterprise",
    "public",
    "supervising_admin",
    "supervising_commander",
    "supervising_inspector",
)
SUPERVISING = {
    "district_officer",
    "supervising_admin",
    "supervising_commander",
    "supervising_inspector",
}
GOVERNMENT_ASSESSORS = {
    "admin_city",
    "supervising_admin",
    "inspector_city",
    "supervising_inspector",
    "district_officer",
    "district_officer_elsewhere",
    "risk_analyst",
    "liaison",
}
GOVERNMENT_RECTIFIERS = {
    "admin_city",
    "supervising_admin",
    "inspector_city",
    "supervising_inspector",
    "district_officer",
    "district_officer_elsewhere",
}


def may(action: str, who: str, major: bool) -> bool:
    """Whether `who` may take `action` on a general (major=False) or major hidden danger.

    Scope (which division or enterprise the caller sees) is the service's job, not the loop's.
    """
    if action == "confirm":
        # Government assesses; an enterprise may grade its own danger, but only as general.
        return who in GOVERNMENT_ASSESSORS or (who == "own_enterprise" and not major)
    if action == "reject":
        # A report not upheld has no grade yet, so the assessors of a general one decide.
        return who in GOVERNMENT_ASSESSORS or who == "own_enterprise"
    if action == "register":
        registrars = GOVERNMENT_ASSESSORS - {"risk_analyst"}  # analysts grade, do not register
        return who in registrars or (who == "own_enterprise" and not major)
    if action in ("submit_plan", "submit_acceptance"):
        # The enterprise rectifies its own; government staff may record it on its behalf.
        return who in GOVERNMENT_RECTIFIERS or who == "own_enterprise"
    if action in ("approve_plan", "reject_plan"):
        # Only a major one waits for plan approval, and only its supervisor gives it.
        return major and who in SUPERVISING
    if action in ("accept", "return"):
        if major:
            return who in SUPERVISING
        return who in GOVERNMENT_RECTIFIERS or who == "liaison"
    raise AssertionError(f"unknown step {action}")


def expected(status: str, action: str, who: str, major: bool) -> str:
    """'conflict' when the status does not allow the step, 'forbidden' when the actor may not
    take it, else the status it leads to."""
    src, to_general, to_major = STEPS[action]
    if status != src:
        return "conflict"
    if not may(action, who, major):
        return "forbidden"
    return to_major if major else to_general
