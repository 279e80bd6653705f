"""Epsilon: time, cooperative scheduling and versions."""
