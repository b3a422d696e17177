"""The supervisor process: host, daemon, control socket, state, log files, leftovers."""
