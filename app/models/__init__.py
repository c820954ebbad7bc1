"""Vendor-specific domain types and capability Protocols the UI may import."""
