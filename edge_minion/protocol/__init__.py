"""Sans-IO protocol core shared by master and minion (Salt ZeroMQ wire, request protocol v3)."""
