"""FaceDesk's PySide6 user interface: talks to vendors only through app.services."""
