"""After logging in, the browser goes only to a page of this site: the server renders a safe ``next`` and the
login script re-checks it with a real WHATWG URL parser (Node's, the one browsers share) before going there."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from urllib.parse import quote, urlsplit

import httpx
import pytest

from tests.support.services import ROOT

NODE = shutil.which("node")
LOCAL_PATH_JS = ROOT / "service" / "web" / "static" / "js" / "local_path.js"
ATTACKS = [
    "/\t/evil.example/x",
    "/\n/evil.example/x",
    "/\\evil.example/x",
    "//evil.example/x",
    "https://evil.example/x",
    "/\t\\evil.example",
    " //evil.example",
]


def where_the_login_script_goes(next_attribute: str, origin: str) -> str:
    """What ``login.js`` passes to ``location.assign`` for this ``data-next``, computed by Node."""
    assert NODE is not None, "node is needed to run the login page's script"
    script = (
        f"const m = await import({json.dumps(LOCAL_PATH_JS.as_uri())});"
        f"process.stdout.write(m.sameOriginUrl({json.dumps(next_attribute)}, {json.dumps(origin)}));"
    )
    done = subprocess.run([NODE, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("target", ATTACKS)
async def test_login_never_sends_the_browser_to_another_host(api_url: str, target: str) -> None:
    # Given a login link whose next points elsewhere in one of the ways browsers read as another host
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        page = await client.get(f"/login?next={quote(target, safe='')}")
    assert page.status_code == 200, page.text
    # Then the page keeps only a local path
    [next_attribute] = re.findall(r'data-next="([^"]*)"', page.text)
    assert next_attribute == "/"
    # And the script, even if handed the raw target, stays on this origin
    for candidate in (next_attribute, target):
        assert urlsplit(where_the_login_script_goes(candidate, api_url)).netloc == urlsplit(api_url).netloc


async def test_a_local_next_is_kept(api_url: str) -> None:
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        page = await client.get("/login?next=" + quote("/generations/abc?page=2", safe=""))
    [next_attribute] = re.findall(r'data-next="([^"]*)"', page.text)
    assert next_attribute == "/generations/abc?page=2"
    assert where_the_login_script_goes(next_attribute, api_url) == f"{api_url}/generations/abc?page=2"
