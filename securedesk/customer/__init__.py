"""Safe paths for customers: protected forms, verified self-service lookup and call-back requests."""
