"""Hidden-danger investigation and closed-loop rectification (隐患排查治理)."""
