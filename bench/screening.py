"""Screening benchmark: the whole Screener (language, detection, policy, redaction, vault, audit) against the
Detector alone, in one run, on the same messages.

The vault and the audit log write to a real SQLite file (WAL, synchronous=FULL: every sealed value and every audit
event is on disk before ``screen`` returns) in a temporary directory, with a real key file, under the shipped
``policies/default.toml``. The corpus is built in code (seeded): chat-sized (40-300 characters) and email-sized
(2-5 KB) messages in English, French and Swedish. Most carry no sensitive value but plenty of digits (order and
invoice numbers, phone numbers, dates, amounts); about one in ten carries a card number, SSN, NIR, personnummer or
IBAN (the default policy then redacts it, or vaults an IBAN, and writes one audit event).

Modes, per workload: the detector alone, called in a loop (the baseline: what detection costs); language detection
alone (what the Screener adds when the channel does not say the language); the Screener one message at a time with
the language given, then without (latency); the Screener at a fixed offered load (Poisson arrivals: 200 chat
messages/s, the chat target's 200 connections at one message a second each; 20 emails/s), latency counted from
the call; the Screener with 16 messages in flight (saturation: the most it screens per second, and the latency when
the machine is full). The figure is the overhead ratio: detector messages/s divided by the mode's messages/s (for
the offered-load rows it only shows that the load was carried). The Screener's work beyond detection: language
detection, a hop to a worker thread and back, the policy, redaction and the check scan of the redacted text, and for
messages with a value one vault transaction and one audit transaction, each fsynced.

Usage: .venv/bin/python bench/screening.py [--quick] [--seed N] [--chat N] [--email N]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from securedesk.audit import AuditLog
from securedesk.audit.reasons import ReasonScreen
from securedesk.clock import SystemClock
from securedesk.config import Settings
from securedesk.detection import Detector
from securedesk.language import LanguageDetector
from securedesk.metrics import Metrics
from securedesk.policy import PolicyHolder
from securedesk.screening import Screener
from securedesk.storage.database import Database
from securedesk.vault import LocalKeyFile, Vault

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = 16
CASES = 40
PII_SHARE = 0.1

SENTENCES = {
    "en": [
        "Hi, I ordered a pair of running shoes last week and they still have not arrived.",
        "Could you please check the status of my delivery?",
        "The tracking page has not been updated since Monday.",
        "I was told someone would call me back but nobody did.",
        "Thanks for your help, I really appreciate it.",
        "My subscription renewed even though I cancelled it in March.",
        "The app keeps crashing when I open the payment page.",
        "Is there a way to change the delivery address?",
        "I would like a refund for the damaged item.",
        "The parcel was left at the wrong door.",
    ],
    "fr": [
        "Bonjour, j'ai commandé une paire de chaussures la semaine dernière et je ne l'ai toujours pas reçue.",
        "Pourriez-vous vérifier l'état de ma livraison ?",
        "Le suivi n'a pas été mis à jour depuis lundi.",
        "On m'a dit qu'on me rappellerait mais personne ne l'a fait.",
        "Merci pour votre aide, bonne journée.",
        "L'application plante quand j'ouvre la page de paiement.",
        "Je voudrais être remboursé pour l'article abîmé.",
    ],
    "sv": [
        "Hej, jag beställde ett par löparskor förra veckan och de har fortfarande inte kommit.",
        "Kan ni kontrollera status för min leverans?",
        "Spårningssidan har inte uppdaterats sedan måndag.",
        "Jag fick höra att någon skulle ringa upp men ingen gjorde det.",
        "Tack för hjälpen, ha en bra dag.",
        "Appen kraschar när jag öppnar betalningssidan.",
        "Jag vill ha pengarna tillbaka för den skadade varan.",
    ],
}
HARMLESS_NUMBERS = [
    "Order #{order} was placed on {day:02d}/{month:02d}/2026.",
    "My invoice number is INV-{order}.",
    "Call me on +46 70 {a:03d} {b:02d} {c:02d} after 5 pm.",
    "The total was {amount},{cents:02d} EUR.",
    "Tracking: 1Z{order}{order}.",
    "My customer number is {order}{a:03d}.",
]
PII = [
    ("en", "My card number is 4111 1111 1111 1111, expiry 12/29."),
    ("en", "Please charge 5555-5555-5555-4444 instead."),
    ("en", "My SSN is 123-45-6789 if you need it."),
    ("fr", "Voici ma carte : 4111 1111 1111 1111, cryptogramme 737."),
    ("fr", "Mon numéro de sécurité sociale est 1 84 12 75 108 045 28."),
    ("fr", "Mon RIB : FR76 3000 6000 0112 3456 7890 189"),
    ("sv", "Mitt personnummer är 811218-9876."),
    ("sv", "Mitt kortnummer är 3782 822463 10005."),
    ("sv", "Betala tillbaka till SE45 5000 0000 0583 9825 7466 tack."),
]


def _harmless(rng: random.Random) -> str:
    return rng.choice(HARMLESS_NUMBERS).format(
        order=rng.randrange(10_000, 99_999_999),
        day=rng.randrange(1, 29),
        month=rng.randrange(1, 13),
        a=rng.randrange(100, 999),
        b=rng.randrange(10, 99),
        c=rng.randrange(10, 99),
        amount=rng.randrange(5, 2_000),
        cents=rng.randrange(0, 100),
    )


def chat_message(rng: random.Random) -> tuple[str, bool]:
    if rng.random() < PII_SHARE:
        lang, value = rng.choice(PII)
        return f"{rng.choice(SENTENCES[lang])} {value}", True
    lang = rng.choice(list(SENTENCES))
    parts = [rng.choice(SENTENCES[lang]) for _ in range(rng.randrange(1, 4))]
    if rng.random() < 0.4:
        parts.insert(rng.randrange(len(parts) + 1), _harmless(rng))
    return " ".join(parts), False


def email_message(rng: random.Random) -> tuple[str, bool]:
    lang = rng.choice(list(SENTENCES))
    target = rng.randrange(2_000, 5_000)
    paragraphs: list[str] = []
    size = 0
    while size < target:
        paragraph = " ".join(rng.choice(SENTENCES[lang]) for _ in range(rng.randrange(2, 6)))
        if rng.random() < 0.5:
            paragraph += " " + _harmless(rng)
        paragraphs.append(paragraph)
        size += len(paragraph) + 2
    has_pii = rng.random() < PII_SHARE
    if has_pii:
        paragraphs.insert(rng.randrange(len(paragraphs)), rng.choice(PII)[1])
    signature = f"--\nA. Customer\n+33 6 {rng.randrange(10, 99)} {rng.randrange(10, 99)} {rng.randrange(10, 99)} 78"
    quoted = "\n".join("> " + line for line in paragraphs[0].split(". "))
    return "\n\n".join(["Hello,", *paragraphs, signature, "On Monday, Support wrote:", quoted]), has_pii


# --- measuring -------------------------------------------------------------------------------------------------


@dataclass
class Row:
    workload: str
    mode: str
    messages: int
    per_second: float
    p50_ms: float
    p99_ms: float


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed_loop(work: Callable[[str], object], texts: Sequence[str]) -> tuple[float, list[float]]:
    latencies: list[float] = []
    started = time.perf_counter()
    for text in texts:
        t0 = time.perf_counter()
        work(text)
        latencies.append(time.perf_counter() - t0)
    return time.perf_counter() - started, latencies


async def screened_sequential(
    screen: Callable[[str, int], Awaitable[object]], texts: Sequence[str]
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    started = time.perf_counter()
    for index, text in enumerate(texts):
        t0 = time.perf_counter()
        await screen(text, index)
        latencies.append(time.perf_counter() - t0)
    return time.perf_counter() - started, latencies


async def screened_concurrent(
    screen: Callable[[str, int], Awaitable[object]], texts: Sequence[str], concurrency: int
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue = list(enumerate(texts))
    queue.reverse()

    async def worker() -> None:
        while queue:
            index, text = queue.pop()
            t0 = time.perf_counter()
            await screen(text, index)
            latencies.append(time.perf_counter() - t0)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies


async def screened_at_rate(
    screen: Callable[[str, int], Awaitable[object]], texts: Sequence[str], rate: float, rng: random.Random
) -> tuple[float, list[float]]:
    """Open loop: messages arrive at ``rate`` per second (Poisson), whether or not earlier ones are done, as
    customers' messages do. Latency counts from the call (waiting behind other messages included; the pacing
    timer's own lateness not)."""
    latencies: list[float] = []
    loop = asyncio.get_running_loop()

    async def one(index: int, text: str) -> None:
        called = time.perf_counter()
        await screen(text, index)
        latencies.append(time.perf_counter() - called)

    tasks: list[asyncio.Task[None]] = []
    started = arrival = loop.time()
    for index, text in enumerate(texts):
        arrival += rng.expovariate(rate)
        await asyncio.sleep(max(0.0, arrival - loop.time()))
        tasks.append(asyncio.create_task(one(index, text)))
    await asyncio.gather(*tasks)
    return loop.time() - started, latencies


def row(workload: str, mode: str, elapsed: float, latencies: list[float]) -> Row:
    return Row(
        workload,
        mode,
        len(latencies),
        len(latencies) / elapsed,
        statistics.median(latencies) * 1000,
        _percentile(latencies, 0.99) * 1000,
    )


async def run(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    chat = [chat_message(rng) for _ in range(args.chat)]
    email = [email_message(rng) for _ in range(args.email)]
    with tempfile.TemporaryDirectory(prefix="securedesk-bench-") as tmp:
        root = Path(tmp)
        settings = Settings(data_dir=root / "data", key_dir=root / "keys", cert_dir=root / "certs")
        LocalKeyFile(settings.key_dir).add_version()
        clock = SystemClock()
        db = await Database.open(settings.database_path)
        try:
            journal = (await db.fetch_one("PRAGMA journal_mode"))[0]  # type: ignore[index]
            synchronous = (await db.fetch_one("PRAGMA synchronous"))[0]  # type: ignore[index]
            vault = await Vault.load(settings, db, clock)
            detector = Detector.from_settings(settings)
            audit = AuditLog(db, clock, ReasonScreen(detector=detector))
            screener = Screener.build(
                settings,
                vault=vault,
                audit=audit,
                policy_holder=PolicyHolder.load(ROOT / "policies" / "default.toml"),
                detector=detector,
                metrics=Metrics(process_metrics=False),
            )
            case_ids = [f"case_bench_{n}" for n in range(CASES)]
            async with db.transaction() as conn:
                for case_id in case_ids:
                    await conn.execute(
                        "INSERT INTO cases (id, reference, channel, created_at, updated_at)"
                        " VALUES (?, ?, 'chat', 0, 0)",
                        (case_id, case_id.upper()),
                    )
            decisions: Counter[str] = Counter()

            language = LanguageDetector.load()

            def screen_on(channel: str, lang: str | None = None) -> Callable[[str, int], Awaitable[object]]:
                async def screen(text: str, index: int) -> object:
                    result = await screener.screen(
                        text, channel=channel, lang=lang, case_id=case_ids[index % CASES], sender=None
                    )
                    decisions[result.decision.value] += 1
                    return result

                return screen

            rows: list[Row] = []
            for workload, corpus, channel, rate in (("chat", chat, "chat", 200.0), ("email", email, "email", 20.0)):
                texts = [text for text, _ in corpus]
                timed_loop(lambda text: detector.analyze(text, "en"), texts[:50])  # warm up
                rows.append(row(workload, "detector alone", *timed_loop(lambda t: detector.analyze(t, "en"), texts)))
                rows.append(row(workload, "language detection alone", *timed_loop(language.detect, texts)))
                rows.append(
                    row(workload, "Screener, lang given", *await screened_sequential(screen_on(channel, "en"), texts))
                )
                rows.append(
                    row(workload, "Screener, 1 at a time", *await screened_sequential(screen_on(channel), texts))
                )
                rows.append(
                    row(
                        workload,
                        f"Screener, {rate:.0f} msgs/s offered",
                        *await screened_at_rate(screen_on(channel), texts[: int(rate * 10)], rate, rng),
                    )
                )
                rows.append(
                    row(
                        workload,
                        f"Screener, {CONCURRENCY} in flight",
                        *await screened_concurrent(screen_on(channel), texts, CONCURRENCY),
                    )
                )
            events = (await db.fetch_one("SELECT count(*) FROM audit_events"))[0]  # type: ignore[index]
            sealed = (await db.fetch_one("SELECT count(*) FROM secrets"))[0]  # type: ignore[index]
            screener.close()
        finally:
            await db.close()

    pii_chat = sum(1 for _, has in chat if has)
    pii_email = sum(1 for _, has in email if has)
    print(
        f"SQLite journal_mode={journal}, synchronous={synchronous} (2 = FULL); policy default.toml; "
        f"{args.chat} chat messages ({pii_chat} with PII), {args.email} emails ({pii_email} with PII); seed {args.seed}"
    )
    print()
    header = f"{'workload':<8} {'mode':<30} {'messages':>8} {'msgs/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'overhead':>9}"
    print(header)
    print("-" * len(header))
    for workload in ("chat", "email"):
        baseline = next(r for r in rows if r.workload == workload and r.mode == "detector alone")
        for r in rows:
            if r.workload != workload:
                continue
            # At an offered load the rate is the load's, not a capacity: no ratio.
            overhead = "-" if "offered" in r.mode else f"{baseline.per_second / r.per_second:.2f}x"
            print(
                f"{r.workload:<8} {r.mode:<30} {r.messages:>8} {r.per_second:>9.0f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} "
                f"{overhead:>9}"
            )
    print()
    print(
        f"decisions: {dict(sorted(decisions.items()))}; audit events written: {events}; secrets sealed: {sealed} "
        f"(one per distinct value per case)"
    )
    print("overhead = detector-alone msgs/s ÷ mode msgs/s (1.00x: screening costs nothing beyond detection)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small corpus, for a smoke run")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chat", type=int, default=None, help="chat messages (default 3000, quick 300)")
    parser.add_argument("--email", type=int, default=None, help="emails (default 400, quick 60)")
    args = parser.parse_args()
    args.chat = args.chat if args.chat is not None else (300 if args.quick else 3000)
    args.email = args.email if args.email is not None else (60 if args.quick else 400)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
