"""Developer tooling: the local stack (`make run`), the demo county, test helpers."""
