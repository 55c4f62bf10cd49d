"""The ``backend`` fixture: every test here runs against each backend in contract_backends."""

from contract_backends import backend

__all__ = ["backend"]
