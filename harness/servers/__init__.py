"""Endpoint processes the harness starts: each prints its port on stdout, then
serves until its stdin closes (so it dies with the harness, even on SIGKILL)."""
