"""Menu entries of the hazards capability: (href, text key)."""

NAV: tuple[tuple[str, str], ...] = (
    ("/hazards/list", "nav_hd_list"),
    ("/hazards/report", "nav_hd_report"),
    ("/hazards/list?status=reported&source=public_report", "nav_hd_triage"),
    ("/hazards/tasks", "nav_hd_tasks"),
    ("/hazards/checklists", "nav_hd_checklists"),
    ("/hazards/stats", "nav_hd_stats"),
    ("/hazards/inbox", "nav_hd_inbox"),
)
