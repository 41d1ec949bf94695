"""Helpers for integrators' own test suites (factories, fakes)."""
