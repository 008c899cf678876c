"""Settings come from safecity.toml, and environment variables win over the file."""

from safecity.core.config import Settings


def test_toml_then_env(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "city.toml"
    cfg.write_text(
        '[safecity]\nport = 9100\nsession_ttl_minutes = 30\ncity_code = "370200"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("SAFECITY_CONFIG", str(cfg))
    monkeypatch.delenv("SAFECITY_PORT", raising=False)
    s = Settings()
    assert (s.port, s.session_ttl_minutes, s.city_code) == (9100, 30, "370200")
    monkeypatch.setenv("SAFECITY_PORT", "9200")
    assert Settings().port == 9200


def test_defaults_without_file(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SAFECITY_CONFIG", str(tmp_path / "missing.toml"))
    monkeypatch.delenv("SAFECITY_DATABASE_URL", raising=False)
    assert Settings().database_url == "sqlite:///safecity.db"
