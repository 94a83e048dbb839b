"""The composition root: ``open_services(settings)`` builds the gateway's object graph once (database, vault,
detector, audit log, identity, policy, screener, screening API, background jobs) and every entry point starts from
it — ``securedesk serve`` hands it to the web app and the SMTP ingress, tests build it the same way. Nothing below
this layer builds objects of other layers; the web layer receives a built ``Services`` and never assembles one."""

from securedesk.gateway.jobs import BackgroundJob
from securedesk.gateway.services import Services, open_services

__all__ = ["BackgroundJob", "Services", "open_services"]
