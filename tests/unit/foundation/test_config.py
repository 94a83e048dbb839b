from __future__ import annotations

from pathlib import Path

import pytest

from securedesk.config import Settings
from securedesk.errors import ConfigError
from securedesk.sensitive import Sensitive


def test_defaults_need_no_environment() -> None:
    settings = Settings.load({})
    assert settings.database_path == Path("var/securedesk.db")
    assert settings.tls_cert_path == Path("certs/dev/server.pem")
    assert settings.policy_path == Path("policies/default.toml")


def test_environment_overrides_file(tmp_path: Path) -> None:
    file = tmp_path / "s.toml"
    file.write_text('https_port = 9443\nserved_domains = ["a.test", "b.test"]\nsmtp_port = 2600\n')
    settings = Settings.load({"SECUREDESK_HTTPS_PORT": "10443"}, file)
    assert settings.https_port == 10443
    assert settings.smtp_port == 2600
    assert settings.served_domains == ("a.test", "b.test")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SECUREDESK_SMTP_REQUIRE_STARTTLS": "yes"}, True),
        ({"SECUREDESK_SMTP_REQUIRE_STARTTLS": "0"}, False),
    ],
)
def test_booleans(env: dict[str, str], expected: bool) -> None:
    assert Settings.load(env).smtp_require_starttls is expected


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SECUREDESK_HTTPS_PORT": "eighty"}, "Setting https_port from SECUREDESK_HTTPS_PORT is not a valid int."),
        ({"SECUREDESK_SMTP_REQUIRE_STARTTLS": "maybe"}, "Setting smtp_require_starttls"),
    ],
)
def test_bad_values_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.load(env)
    assert str(info.value).startswith(message)


def test_unknown_key_in_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "s.toml"
    file.write_text("htps_port = 1\n")
    with pytest.raises(ConfigError, match="Unknown setting 'htps_port'"):
        Settings.load({}, file)


def test_secrets_are_masked_in_description() -> None:
    settings = Settings.load({"SECUREDESK_WEBHOOK_SECRET": "hunter2-webhook-secret"})
    assert isinstance(settings.webhook_secret, Sensitive)
    described = settings.describe()
    assert described["webhook_secret"] == "•••• (set)"
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(described)
