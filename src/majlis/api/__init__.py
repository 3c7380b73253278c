"""The public HTTP API of API.md: routes per area, problem+json errors, guards and auth."""
