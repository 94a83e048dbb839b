"""The screening API under load: ``POST /api/v1/screen`` on the real ``securedesk serve`` (key made with the CLI)
against Presidio's AnalyzerEngine behind a minimal HTTP server of the same stack (Starlette on uvicorn, the same TLS
certificate, loopback), measured in the same run with the same clients and the same 1 KB bodies.

Bodies: about 1 KB of English, French or Swedish support text, 8% of them with a card number (seeded). Each level
(1, 16 and 100 concurrent clients, each on its own keep-alive connection) sends its requests as fast as answers
come back; latency is from send to the complete response. The baseline answers Presidio's findings as JSON, the
gateway its full screening answer (redacted parts, findings, policy decision, audit event when something was
masked). Throughput is requests per wall second. The closing lines compare with the issue's targets (p99 < 10 ms
at 100 concurrent, at least 5x the Presidio-backed server's throughput); the exit status is 0 either way.

    .venv/bin/python bench/api.py [--quick] [--levels 1,16,100] [--requests 1500] [--nlp blank|light]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from chat import Gateway, free_port, new_gateway, start_gateway, wait_listening

FILLER = {
    "en": (
        "Hi, I ordered a pair of running shoes last week and they still have not arrived. The tracking page has "
        "not been updated since Monday and nobody answered my last email. Could you please check the status of "
        "my delivery and tell me when I can expect it? If it is lost, I would like a refund rather than a "
        "voucher. Thanks for your help, I really appreciate it. "
    ),
    "fr": (
        "Bonjour, j'ai commandé une paire de chaussures la semaine dernière et elles ne sont toujours pas "
        "arrivées. La page de suivi n'a pas changé depuis lundi et personne n'a répondu à mon dernier message. "
        "Pourriez-vous vérifier l'état de ma livraison ? Si le colis est perdu, je préfère un remboursement. "
    ),
    "sv": (
        "Hej, jag beställde ett par löparskor förra veckan och de har fortfarande inte kommit. Spårningssidan har "
        "inte uppdaterats sedan måndag och ingen har svarat på mitt senaste mejl. Kan ni kolla status på min "
        "leverans och säga när jag kan vänta mig den? Om paketet har försvunnit vill jag ha pengarna tillbaka. "
    ),
}
CARDS = ("4111 1111 1111 1111", "5555 5555 5555 4444", "3530 1113 3330 0000")


def bodies(seed: int, count: int) -> list[tuple[str, str]]:
    """(lang, ~1 KB text), 8% with a card number."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        lang = rng.choice(tuple(FILLER))
        text = (FILLER[lang] * 5)[: 1000 + rng.randrange(48)]
        if rng.random() < 0.08:
            cut = rng.randrange(200, 800)
            text = f"{text[:cut]} card {rng.choice(CARDS)} {text[cut:]}"
        out.append((lang, text))
    return out


# --- the baseline: Presidio behind Starlette ---------------------------------------------------------------------


def run_presidio_server(port: int, cert: str, key: str, nlp: str) -> None:
    import logging

    import uvicorn
    from detection import LANGUAGES, BlankSpacyNlpEngine, stock_engine
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route

    from securedesk.detection.nlp import LightweightNlpEngine

    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    # Presidio as shipped needs a spaCy model; blank spaCy pipelines are the no-download setup (bench/detection.py
    # explains it). "light" runs stock Presidio on securedesk's own NLP engine: the fastest Presidio there is.
    analyze = stock_engine(LightweightNlpEngine(LANGUAGES) if nlp == "light" else BlankSpacyNlpEngine(LANGUAGES))

    async def endpoint(request: Request) -> JSONResponse:
        body = await request.json()
        found = await run_in_threadpool(analyze, body["text"], body.get("language", "en"))
        return JSONResponse([{"entity_type": e, "start": s, "end": n, "score": c} for e, s, n, c in found])

    async def ready(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/analyze", endpoint, methods=["POST"]), Route("/readyz", ready)])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, ssl_certfile=cert, ssl_keyfile=key,
                            log_level="warning", access_log=False, backlog=2048)  # fmt: skip
    uvicorn.Server(config).run()


def start_presidio(port: int, gateway: Gateway, nlp: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, __file__, "--presidio-server", str(port), str(gateway.root / "certs/server.pem"),
         str(gateway.root / "certs/server.key"), nlp],
        stdout=subprocess.DEVNULL, stderr=(gateway.root / "presidio.log").open("wb"),
    )  # fmt: skip


# --- load --------------------------------------------------------------------------------------------------------


async def drive(
    url: str, make_body: Any, headers: dict[str, str], texts: list[tuple[str, str]], clients: int,
    context: ssl.SSLContext,
) -> tuple[float, list[float], int]:
    """Send every text once with ``clients`` concurrent connections: (wall seconds, latencies, non-2xx count)."""
    queue = list(reversed(texts))
    latencies: list[float] = []
    failures = 0

    async def client() -> None:
        nonlocal failures
        async with httpx.AsyncClient(verify=context, timeout=60, limits=httpx.Limits(max_connections=1)) as http:
            while queue:
                lang, text = queue.pop()
                content = json.dumps(make_body(lang, text)).encode()
                started = time.perf_counter()
                response = await http.post(url, content=content, headers=headers)
                latencies.append(time.perf_counter() - started)
                failures += response.status_code >= 300

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started, latencies, failures


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--levels", default="1,16,100")
    parser.add_argument("--requests", type=int, default=None, help="requests per level and server (default 1500)")
    parser.add_argument("--nlp", choices=("blank", "light"), default="blank",
                        help="Presidio's NLP engine: blank spaCy (default) or securedesk's lightweight one")
    parser.add_argument("--presidio-server", nargs=4, metavar=("PORT", "CERT", "KEY", "NLP"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.presidio_server:
        port, cert, key, nlp = args.presidio_server
        run_presidio_server(int(port), cert, key, nlp)
        return 0
    levels = [int(level) for level in args.levels.split(",")]
    count = args.requests or (200 if args.quick else 1500)
    texts = bodies(7, count)

    with tempfile.TemporaryDirectory(prefix="securedesk-bench-api-") as tmp:
        gateway = new_gateway(Path(tmp))
        key = gateway.cli("api-keys", "add", "bench", "--scope", "screen", "--rate", "100000").strip().splitlines()[-1]
        start_gateway(gateway)
        presidio_port = free_port()
        presidio = start_presidio(presidio_port, gateway, args.nlp)
        context = gateway.context()
        try:
            wait_listening(presidio_port, presidio, context, "presidio")
            servers = {
                "securedesk /api/v1/screen": (
                    f"{gateway.base_url}/api/v1/screen",
                    lambda lang, text: {"lang": lang, "parts": [{"name": "body", "text": text}]},
                    {"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
                ),
                "presidio behind starlette": (
                    f"https://localhost:{presidio_port}/analyze",
                    lambda lang, text: {"text": text, "language": lang},
                    {"Content-Type": "application/json"},
                ),
            }
            for url, make_body, headers in servers.values():  # warm-up: imports, caches, TLS session
                asyncio.run(drive(url, make_body, headers, texts[:30], 4, context))
            results: dict[tuple[str, int], tuple[float, list[float], int]] = {}
            for level in levels:
                for name, (url, make_body, headers) in servers.items():
                    results[(name, level)] = asyncio.run(drive(url, make_body, headers, texts, level, context))
        finally:
            presidio.terminate()
            if gateway.process is not None:
                gateway.process.terminate()
                gateway.process.wait(30)
            presidio.wait(30)

    print(f"{count} requests of ~1 KB per level and server (8% with a card), HTTPS on loopback, one machine; "
          f"Presidio on {'blank spaCy' if args.nlp == 'blank' else 'securedesk lightweight'} NLP.")
    print()
    print(f"{'server':<28}{'clients':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}")
    for (name, level), (wall, latencies, failures) in results.items():
        print(
            f"{name:<28}{level:>8}{len(latencies) / wall:>9.0f}{statistics.median(latencies) * 1e3:>9.1f}"
            f"{percentile(latencies, 0.99) * 1e3:>9.1f}{failures:>9}"
        )
    print()
    top = max(levels)
    ours_wall, ours, _ = results[("securedesk /api/v1/screen", top)]
    base_wall, base, _ = results[("presidio behind starlette", top)]
    ratio = (len(ours) / ours_wall) / (len(base) / base_wall)
    p99 = percentile(ours, 0.99) * 1e3
    print(f"target p99 < 10 ms at {top} concurrent clients: {p99:.1f} ms -> {'MET' if p99 < 10 else 'NOT MET'}")
    print(f"target >= 5x the Presidio-backed server's throughput: {ratio:.1f}x -> {'MET' if ratio >= 5 else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
