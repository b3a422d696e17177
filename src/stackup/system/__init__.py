"""The only code that touches the OS: processes and signals, port owners, sock_diag, preflight."""
