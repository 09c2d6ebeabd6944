"""Measure: run a target cold and warm and time every sample."""
