"""Monitoring network (一网): sensors, ingestion, alarm rules, alarms, time series."""
