"""Qt-free workflows built on the store and the service: audit verification, cases."""
