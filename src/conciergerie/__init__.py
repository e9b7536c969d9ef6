"""Conciergerie: the digital concierge of a tiers-lieu and of networks of tiers-lieux."""

__version__ = "0.1.0"
