"""How the flows are deployed and served (see ``prefect.yaml`` at the repository root)."""
