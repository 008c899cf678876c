"""Menu entries of the warnings capability: (href, text key); empty shows the group as upcoming."""

NAV: tuple[tuple[str, str], ...] = ()
