"""REST endpoints for patients and assessments: thin views over selectors and services."""
