"""Staff identity: argon2id passwords, TOTP, sessions, roles and permissions."""
