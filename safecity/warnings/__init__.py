"""Early-warning publication (预警信息发布) with OASIS CAP 1.2."""
