"""Analyse: history, change points and charts over archived reports."""
