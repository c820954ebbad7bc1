"""Reusable widgets: image slots, result cards, copyable fields, QR codes."""
