"""Monitoring settings (SAFECITY_MONITORING_* environment variables or [safecity.monitoring])."""

from __future__ import annotations

from functools import lru_cache
from typing import ClassVar

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from safecity.core.config import SectionSettings


class MonitoringSettings(SectionSettings):
    model_config = SettingsConfigDict(env_prefix="SAFECITY_MONITORING_", extra="ignore")
    section: ClassVar[str] = "monitoring"

    retention_days: float = 400  # raw readings older than this are purged and rejected
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    # True when the broker's ACL already pins each device to its own topic (deploy/mosquitto):
    # then the payload needs no token.
    mqtt_trust_broker_acl: bool = False
    mqtt_share_group: str = "safecity"  # empty: a plain (unshared) subscription
    # 5: MQTT 5 (Mosquitto); 4: MQTT 3.1.1, for NATS Server's MQTT listener
    # (deploy/nats/safecity-mqtt.conf), which has no shared subscriptions: one consumer.
    mqtt_protocol: int = Field(5, ge=4, le=5)
    nats_url: str = "nats://127.0.0.1:4222"
    nats_stream: str = "SAFECITY_TELEMETRY"
    nats_subject_prefix: str = "safecity.telemetry"
    partitions: int = 16
    batch_max: int = 5000
    batch_wait_ms: int = 50
    # PostgreSQL: fold new readings into the minute/hour aggregates and latest values every this
    # many seconds (0: in the same transaction as the readings). Alarms do not wait for it.
    rollup_interval_s: float = 3.0
    http_max_bytes: int = 8 * 1024 * 1024
    # POST /api/v1/telemetry publishes into JetStream (answered once stored) instead of
    # processing in the web process; `safecity ingest` workers do the rest (monitoring/relay.py).
    http_forward_nats: bool = False
    http_forward_timeout_s: float = 3.0
    # Build the HTTP ingestion pipeline (every sensor, latest value and open alarm) when the web
    # app starts rather than on the first device request; `safecity serve` turns it on.
    warm_start: bool = False
    # Workers skip the token check for stream messages: the stream's subjects are internal and
    # only SafeCity front ends that authenticated the device publish to them (see relay.py).
    nats_trusted: bool = False

    @model_validator(mode="after")
    def _relay_needs_trusted_workers(self) -> MonitoringSettings:
        if self.http_forward_nats and not self.nats_trusted:
            raise ValueError(
                "SAFECITY_MONITORING_HTTP_FORWARD_NATS=true needs "
                "SAFECITY_MONITORING_NATS_TRUSTED=true: relayed HTTP readings carry "
                "no token, so workers must trust the (internal) stream"
            )
        return self


@lru_cache
def get_monitoring_settings() -> MonitoringSettings:
    return MonitoringSettings()
