"""Verifiers and pseudo-data generators: pure computation over capture.Trajectory objects."""
