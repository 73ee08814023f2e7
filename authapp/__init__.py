"""AirAuth application layer: enrollment store, services, experiment harness, CLI, GUI."""
