"""SafeCity: city safety risk monitoring, early warning and emergency management platform."""

__version__ = "0.1.0"
