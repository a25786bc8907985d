"""The scenarios that ship with fakepay, installed as the package ``fakepay.scenarios`` (see pyproject.toml)."""
