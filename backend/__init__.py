"""Fieldcheck: backend of the field app for Liaoning's emergency-management technical inspectors
and social supervisors."""

__version__ = "0.1.0"
