"""Risk points (风险点): the register, LEC and matrix assessment with approval, per-city grading
settings, XLSX import/export and the enterprise's inherent level."""
