"""Hedgerow: a product-analytics server that speaks PostHog's API."""

__version__ = "0.1.0"
