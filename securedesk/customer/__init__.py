"""Safe paths for customers: protected forms, verified lookup (one-time codes) and call-back requests."""

from securedesk.customer.callback import CallbackContext, CallbackForm, CallbackReceipt, CallbackService, QueueItem
from securedesk.customer.desk import CustomerDesk
from securedesk.customer.forms import FormLink, FormReceipt, FormService, OpenForm
from securedesk.customer.links import NudgeLinkBuilder
from securedesk.customer.lookup import CodeLocked, CodeRejected, CustomerSession, LookupService, NoOpenChallenge
from securedesk.customer.notifier import EmailNotifier, Notifier
from securedesk.customer.self_service import CustomerOverview, SelfService
from securedesk.throttling import RateLimit, SlidingWindow

__all__ = [
    "CallbackContext",
    "CallbackForm",
    "CallbackReceipt",
    "CallbackService",
    "CodeLocked",
    "CodeRejected",
    "CustomerDesk",
    "CustomerOverview",
    "CustomerSession",
    "EmailNotifier",
    "FormLink",
    "FormReceipt",
    "FormService",
    "LookupService",
    "NoOpenChallenge",
    "Notifier",
    "NudgeLinkBuilder",
    "OpenForm",
    "QueueItem",
    "RateLimit",
    "SelfService",
    "SlidingWindow",
]
