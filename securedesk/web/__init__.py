"""The HTTPS web application: ``create_app(settings)``, routes per audience, security middleware."""
