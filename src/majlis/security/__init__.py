"""Password hashing, bearer tokens and signed listener ids."""
