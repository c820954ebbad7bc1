"""Qt-free workflows the window and the command line share: compare, connections, audit, cases."""
