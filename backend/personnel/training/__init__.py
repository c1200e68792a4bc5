"""Trainings and the yearly training report (Art. 14)."""
