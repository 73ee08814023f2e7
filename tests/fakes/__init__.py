"""Test doubles of external systems (the Ultraleap binding) used by the test suite."""
