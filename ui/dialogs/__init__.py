"""Dialogs: connection settings and credentials, confirmations, crash report, about."""
