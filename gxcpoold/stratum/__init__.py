"""Stratum V1 server: line protocol, sessions, vardiff, share checks, abuse control."""
