"""Qt-free operator workflows the window and the command line share."""
