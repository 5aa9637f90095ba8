"""Evaluation: metrics, benchmark protocols, peers and timing."""
