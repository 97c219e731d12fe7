"""Website projects for the build kind's tests, made as archives: a static site, a Vite + TypeScript app
(from ``build_fixture/``, whose lockfile pins Vite and TypeScript so builds install offline from npm's cache,
see ``scripts/npm-test-cache``), the same app with a type error, and a project whose build exhausts memory."""

from __future__ import annotations

from pathlib import Path

from tests.support.archives import make_zip

FIXTURE = Path(__file__).parent / "build_fixture"

STATIC_SITE = {
    "site/index.html": b"<!doctype html><title>Static</title><link rel=stylesheet href=style.css><h1>Static site</h1>",
    "site/style.css": b"h1 { color: rebeccapurple; }\n",
    "site/about/index.html": b"<!doctype html><title>About</title><p>About us</p>",
}

TSCONFIG = b"""{
  "compilerOptions": {
    "target": "ES2020", "module": "ESNext", "moduleResolution": "bundler", "strict": true,
    "lib": ["ES2020", "DOM"], "skipLibCheck": true, "noEmit": true, "types": []
  },
  "include": ["src"]
}
"""
INDEX_HTML = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vite fixture</title></head>
<body><div id="app"></div><script type="module" src="/src/main.ts"></script></body></html>
"""
MAIN_TS = b"""const count: number = 42;
const app = document.getElementById("app");
if (app) app.textContent = `Built by Vite: ${count}`;
"""
TYPE_ERROR_TS = b"""const count: number = "forty-two";
export {};
"""


def vite_project(*, marker: str = "", type_error: bool = False) -> dict[str, bytes]:
    """A Vite + TypeScript app; ``marker`` changes its content (a different content hash, no cache hit)."""
    files = {
        "package.json": (FIXTURE / "package.json").read_bytes(),
        "package-lock.json": (FIXTURE / "package-lock.json").read_bytes(),
        "tsconfig.json": TSCONFIG,
        "index.html": INDEX_HTML,
        "src/main.ts": MAIN_TS + f"// {marker}\n".encode(),
    }
    if type_error:
        files["src/broken.ts"] = TYPE_ERROR_TS
    return files


# Allocates memory outside V8's heap (Buffers), touching every page, until it is killed.
HOG_JS = b"""const chunks = [];
setInterval(() => {
  chunks.push(Buffer.alloc(32 * 1024 * 1024, 1));
  console.log(`held ${chunks.length * 32} MB`);
}, 50);
"""


def memory_hog_project() -> dict[str, bytes]:
    return {
        "package.json": b'{"name": "hog", "version": "1.0.0", "private": true, "scripts": {"build": "node hog.js"}}',
        "hog.js": HOG_JS,
    }


# A build that runs until it is cancelled, with a child process of its own: npm -> sh -> node -> node.
def slow_project(marker: str) -> dict[str, bytes]:
    script = f"""const {{ spawn }} = require("child_process");
spawn(process.execPath, ["-e", "setInterval(() => {{}}, 1000) // {marker}-child"], {{ stdio: "inherit" }});
setInterval(() => console.log("{marker}"), 200);
"""
    return {
        "package.json": b'{"name": "slow", "version": "1.0.0", "private": true, "scripts": {"build": "node slow.js"}}',
        "slow.js": script.encode(),
    }


def zip_project(path: Path, files: dict[str, bytes]) -> bytes:
    make_zip(path, files)
    return path.read_bytes()
