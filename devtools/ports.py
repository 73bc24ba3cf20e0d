"""The four services' default ports for `make run`, in a module of its own: the stack starts the
demo and the demo's command line reaches the stack's services, so neither may import the other."""

from __future__ import annotations

DEFAULT_PORTS = {"registry": 8001, "attendance": 8002, "cases": 8003, "reporting": 8004}
