"""``python -m service users create``: the way an operator makes the first accounts."""

from __future__ import annotations

import subprocess
import sys
import uuid

import httpx

from tests.support.services import ROOT


def users_create(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", "users", "create", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def new_email() -> str:
    return f"cli-{uuid.uuid4().hex[:8]}@example.com"


def me(api_url: str, key: str) -> httpx.Response:
    return httpx.get(f"{api_url}/api/me", headers={"Authorization": f"Bearer {key}"}, timeout=10)


def test_users_create_prints_a_working_api_key_on_its_last_line(service_env: dict[str, str], api_url: str) -> None:
    # Given an operator creating a user
    email = new_email()
    # When they run the command
    done = users_create(service_env, "--email", email, "--password", "a good password")
    # Then it succeeds and the last line is the key alone, ready for `| tail -1`
    assert done.returncode == 0, done.stderr
    key = done.stdout.splitlines()[-1]
    assert key.startswith("gj_") and key == key.strip() and " " not in key
    assert email in done.stdout
    assert "a good password" not in done.stdout + done.stderr
    # And the key authenticates against the API as that (non-admin) user
    response = me(api_url, key)
    assert response.status_code == 200, response.text
    assert response.json()["email"] == email
    assert response.json()["is_admin"] is False
    # And the password logs in
    login = httpx.post(f"{api_url}/api/auth/login", json={"email": email, "password": "a good password"}, timeout=10)
    assert login.status_code == 200, login.text


def test_users_create_refuses_a_duplicate_email(service_env: dict[str, str]) -> None:
    email = new_email()
    assert users_create(service_env, "--email", email, "--password", "a good password").returncode == 0
    for duplicate in (email, email.upper()):
        done = users_create(service_env, "--email", duplicate, "--password", "another password")
        assert done.returncode != 0
        assert "already exists" in done.stderr
        assert "gj_" not in done.stdout


def test_users_create_admin(service_env: dict[str, str], api_url: str) -> None:
    done = users_create(service_env, "--email", new_email(), "--password", "a good password", "--admin")
    assert done.returncode == 0, done.stderr
    response = me(api_url, done.stdout.splitlines()[-1])
    assert response.status_code == 200, response.text
    assert response.json()["is_admin"] is True


def test_users_create_refuses_bad_input(service_env: dict[str, str]) -> None:
    bad_email = users_create(service_env, "--email", "not-an-email", "--password", "a good password")
    assert bad_email.returncode != 0
    assert "not a valid email" in bad_email.stderr
    short_password = users_create(service_env, "--email", new_email(), "--password", "short")
    assert short_password.returncode != 0
    assert "at least 8 characters" in short_password.stderr
    missing = users_create(service_env, "--email", new_email())
    assert missing.returncode != 0
    assert "--password" in missing.stderr
