"""The yearly urban safety risk white paper (城市安全风险白皮书): data → gather → compose →
render, PDF and DOCX."""
