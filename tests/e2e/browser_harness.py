"""Browser harness: Debian's ``/usr/bin/chromium`` (never a downloaded browser) driven by Playwright's sync API.

The browser trusts exactly the running server's key: ``--ignore-certificate-errors-spki-list`` with the SHA-256 of
the server certificate's public key, and ``ignore_https_errors=False``, so any other certificate still fails.
``BrowserPage`` collects console errors, page errors and CSP violations (through a ``securitypolicyviolation``
listener installed before any page script runs). Fixtures are in tests/e2e/browser/conftest.py; import the types as
``from browser_harness import BrowserPage``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from e2e_harness import PROJECT_ROOT, RunningServer
from playwright.sync_api import Browser, Page, Playwright

from securedesk.vault.devcerts import spki_sha256

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"

CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@dataclass
class BrowserPage:
    page: Page
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def csp_violations(self) -> list[str]:
        violations: list[str] = self.page.evaluate("window.__cspViolations || []")
        return violations

    def assert_clean(self) -> None:
        """No console error, no uncaught page error, no CSP violation so far."""
        assert self.console_errors == [], self.console_errors
        assert self.page_errors == [], self.page_errors
        assert self.csp_violations() == [], self.csp_violations()

    def screenshot(self, name: str) -> Path:
        """Save a full-page screenshot as docs/screenshots/<name>.png (shown in the README)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def launch_chromium(playwright: Playwright, executable: Path, *, trust: RunningServer | None) -> Browser:
    """Chromium trusting ``trust``'s certificate key (or nothing extra, to show that TLS is really checked)."""
    args = list(CHROMIUM_ARGS)
    if trust is not None:
        args.append(f"--ignore-certificate-errors-spki-list={spki_sha256(trust.settings.tls_cert_path)}")
    return playwright.chromium.launch(executable_path=str(executable), args=args, headless=True)
