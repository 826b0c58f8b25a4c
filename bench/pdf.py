"""PDF benchmark: how long the renderer takes on a realistic 10-page clinical record.

    python bench/pdf.py [--render-only] [--runs 20] [--pages 10] [--exports 10] [--broker both]

Prints the median render time of ``render_clinical`` on plain data (no database, no broker),
then, unless ``--render-only``, bench/export_ready.py's click-to-ready of an export through
broker and worker beside the same task run in process (embedded SQLite broker, and Redis
when REDIS_URL is set).
``realistic_record(pages=10)`` builds the record and is meant for reuse.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.export_ready import print_table, run  # noqa: E402
from counselor.reports.data import (  # noqa: E402
    AnswerRow,
    ClinicalRecord,
    DesireGridRow,
    HomeworkBlock,
    Series,
    SessionBlock,
)
from counselor.reports.pdf import render_clinical  # noqa: E402

DEFAULT_FONT_DIR = "/usr/share/fonts/truetype/dejavu"

PAUSE_SIGNAL = [
    (
        "Agreements",
        "What word or signal pauses everything at once?",
        [
            "“Amber” said out loud, or two taps on the shoulder when talking is hard.",
            "Amber. And if my hands are busy I hum three short notes — we practised it twice.",
        ],
    ),
    (
        "Agreements",
        "What happens in the first five minutes after a pause?",
        [
            "We stop, sit up, I get water and a blanket. No questions until she is ready; then a "
            "short check: what did you notice, what do you need now.",
            "Lights on, closeness if I want it, and nobody apologises yet. We talk later, not in "
            "the moment. I want him to stay in the room.",
        ],
    ),
    (
        "Reflection",
        "When did you last hesitate to use the pause signal, and why?",
        [
            "Once in February, because I did not want to spoil the evening. In hindsight I should "
            "have used it: the doubt stayed with me for two days.",
            "I have not hesitated yet, but I notice I wait until I am sure, and I would like to "
            "use it earlier, when something is merely off.",
        ],
    ),
]

AFTERCARE = [
    (
        "Aftercare",
        "What helps you feel close and safe afterwards?",
        [
            "Being held without talking for a while, then tea and an ordinary conversation about "
            "tomorrow. Being told that she enjoyed it, in plain words.",
            "Warmth, a blanket, his hand on my back. Later a short debrief: what was good, what "
            "was too much, what to change next time.",
        ],
    ),
    (
        "Aftercare",
        "Describe a time you felt well cared for after being close.",
        [
            "Last autumn, after the first evening we tried the lead-and-follow idea. I had been "
            "nervous all day and almost cancelled. Afterwards she did not ask me anything at once: "
            "she made tea, put on the record we both like and sat with her feet on my lap. After a "
            "while she said three things she had liked, very concretely, and asked whether there "
            "was one thing I would change. I said the start had felt rushed. She did not defend it; "
            "she said she had felt the same and had not known how to slow down without breaking "
            "the mood. We agreed to begin next time with ten minutes of just talking.\n\n"
            "What made it feel like care was not the tea or the music but that nothing was "
            "expected of me in that hour. I did not have to perform being fine. The next morning "
            "she sent a message from work saying she was still thinking about it, in a good way, "
            "and asked how I was. I realised I had been bracing for feeling ashamed, as I sometimes "
            "did in earlier relationships, and it did not come. I would like us to keep that hour "
            "free of plans every time, even when we are tired or it is late.",
            "After the pause-signal practice in January. We had agreed to try it once just to know "
            "it works, and he made it feel ordinary — no fuss, just a blanket and a glass of water.",
        ],
    ),
    (
        "Aftercare",
        "What do you need the next day?",
        [
            "A message during the day, nothing elaborate.",
            "A check-in in the evening; I sometimes feel low the day after and want him to know "
            "that this is not about him.",
        ],
    ),
    (
        "Safety",
        "Any health, medication or injury that matters for what you plan?",
        ["Old knee injury: no kneeling for long.", "Asthma: inhaler within reach, always."],
    ),
    (
        "Screening",
        "Has anything happened that you agreed to because you felt pressured?",
        ["No.", "Once, around the new year — I would like to talk about it with you alone first."],
    ),
]

DEBRIEF = [
    (
        "Debrief",
        "What excited you about the step you tried?",
        [
            "That we planned it together and that it went as we said. Knowing the signal was "
            "there made it easier to let go.",
            "Feeling trusted to lead for a while. I liked that we kept it short, as agreed.",
        ],
    ),
    (
        "Debrief",
        "What raised doubt?",
        [
            "Whether I read her correctly when she went quiet; I checked in twice, maybe too often.",
            "The moment he asked twice — it pulled me out, but I understand why. Next time one "
            "glance is enough.",
        ],
    ),
    (
        "Debrief",
        "What would you refine before the next step?",
        [
            "Agree on a non-verbal check-in so I do not have to ask out loud.",
            "Slower start, and more time for aftercare; we rushed to make dinner.",
        ],
    ),
]

DESIRE_ITEMS = [
    ("Planned scenes with a clear start and end", "mutual"),
    ("One partner leads, the other follows", "complementary"),
    ("Light restraint (hands, soft ties)", "discuss"),
    ("Blindfold", "mutual"),
    ("Verbal praise and instruction", "complementary"),
    ("Role play with scripted characters", "mismatch"),
    ("Impact play (spanking)", "limit_collision"),
    ("Public or semi-public settings", "limit"),
    ("Sensation play (ice, feathers)", "mutual"),
    ("Being photographed", "neither"),
    ("Tease and denial", "unanswered"),
]


def _homework(kind: int, partners: list[str], week: int) -> HomeworkBlock:
    """One submitted assignment, cycling through the exercises a couple typically gets."""
    n = len(partners)
    pairs = [f"{a} & {b}" for i, a in enumerate(partners) for b in partners[i + 1 :]]

    def rows(spec, only_section="Screening"):
        return [
            AnswerRow(
                question=q,
                section=section,
                answers=[answers[i % len(answers)] for i in range(n)],
                counselor_only=section == only_section,
            )
            for section, q, answers in spec
        ]

    submitted = f"submitted {week + 1} Mar 2026"
    if kind == 0:
        return HomeworkBlock("Pause signal", submitted, partners, rows(PAUSE_SIGNAL))
    if kind == 1:
        return HomeworkBlock("Aftercare plan", submitted, partners, rows(AFTERCARE))
    if kind == 2:
        return HomeworkBlock("Debrief after a step", submitted, partners, rows(DEBRIEF))
    grid = [
        DesireGridRow(
            item,
            [cls if j == 0 else ("mutual", "discuss", cls)[(j + k) % 3] for j in range(len(pairs))],
        )
        for k, (item, cls) in enumerate(DESIRE_ITEMS)
    ]
    notes = [
        AnswerRow(
            "Anything you want your counselor to know about this list?",
            "Notes",
            [
                "Some of these I only want to try once we have done the pause "
                "exercise a few more times.",
                "I marked one hard limit; I would rather explain it in the session "
                "than write it here.",
            ][:n]
            + ["—"] * max(0, n - 2),
        )
    ]
    return HomeworkBlock("Desire inventory", submitted, partners, notes, pairs, grid)


def realistic_record(
    pages: int = 10, partners: list[str] | None = None, variant: str = "clinical"
) -> ClinicalRecord:
    """A clinical record of about ``pages`` A4 pages: a couple, their homework and check-ins."""
    partners = partners or ["Łukasz Wiśniewski", "Ольга Смирнова"]
    # the header, the desire inventory and the charts take about three pages; each written
    # exercise about two thirds of one
    written = max(round((pages - 3) * 1.55), 0)
    homework = [_homework(3, partners, 0)] + [_homework(i % 3, partners, i) for i in range(written)]
    session = SessionBlock(
        when="Tue 3 Mar 2026, 14:00",
        duration_minutes=60,
        agenda="Review the pause-signal exercise.\nDiscuss the desire inventory: the limit "
        "collision on impact play first.\nAgree the next small step and its debrief.",
        notes="Both arrived on time and calmer than in February. Ольга raised the new-year "
        "incident herself; we agreed to a separate 20-minute slot next week before any "
        "new step.\n\nŁukasz tends to check in verbally very often; explored a "
        "non-verbal check-in. Watch for over-accommodation on his side.\n\nNo safety "
        "concerns today. Screening answer flagged for follow-up (see counselor-only rows).",
        next_steps="Practise the pause signal once a week, outside intimate moments.\n"
        "Write the aftercare plan together and bring it next time.\n"
        "No new steps until the individual conversation with Ольга has happened.",
    )
    dates = ["6 Jan", "20 Jan", "3 Feb", "17 Feb", "3 Mar"]
    charts = [
        Series(
            "How safe did you feel speaking up this week?",
            0,
            10,
            dates,
            {partners[0]: [6, 7, 7, 8, 8], partners[1]: [4, 5, None, 6, 7]},
        ),
        Series(
            "How much energy do you have for the relationship right now?",
            1,
            5,
            dates,
            {partners[0]: [3, 3, 4, 4, 4], partners[1]: [2, 3, 3, 2, 3]},
        ),
    ]
    return ClinicalRecord(
        variant=variant,
        case_label="Wiśniewski & Smirnova",
        partners=partners,
        counselor="Dr. Ingrid Halvorsen",
        generated_at="3 Mar 2026, 16:05 UTC",
        sessions=[(session, homework)],
        charts=charts,
    )


def page_count(pdf: bytes) -> int:
    """Pages in a PDF (needs pypdf, a test dependency)."""
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def bench_render(runs: int, pages: int, font_dir: str) -> str:
    """Print the median render time of a realistic clinical record, per page, beside a bare
    reportlab document of the same content (bench/pdf_reference.py), interleaved run by run.

    Times are CPU time of this process (rendering is single-threaded CPU work, and CPU time
    does not count waiting for a busy core); the ratio is the median of the per-run ratios,
    each run's project render against the reference render right after it."""
    from bench.pdf_reference import render_bare

    record = realistic_record(pages)
    # warm-up: font registration happens once per process, on each side
    pdf, bare = render_clinical(record, font_dir), render_bare(record, font_dir)
    n, m = page_count(pdf), page_count(bare)
    times, ref_times, ratios = [], [], []
    for _ in range(runs):
        start = time.process_time()
        render_clinical(record, font_dir)
        mine = time.process_time() - start
        start = time.process_time()
        render_bare(record, font_dir)
        ref = time.process_time() - start
        times.append(mine * 1000)
        ref_times.append(ref * 1000)
        ratios.append((mine / n) / (ref / m))
    mine, ref, ratio = (statistics.median(v) for v in (times, ref_times, ratios))
    print(
        f"render clinical record: {n} pages, {len(pdf) / 1024:.0f} KiB, median {mine:.0f} ms "
        f"CPU over {runs} runs (min {min(times):.0f} ms, max {max(times):.0f} ms)"
    )
    print(
        f"bare reportlab, same content: {m} pages, {len(bare) / 1024:.0f} KiB, median "
        f"{ref:.0f} ms CPU (min {min(ref_times):.0f} ms, max {max(ref_times):.0f} ms)"
    )
    print(
        f"per page: {mine / n:.1f} ms vs {ref / m:.1f} ms: median of per-run ratios "
        f"{ratio:.2f}x (goal <= 1.5x); rl_accel {'in use' if _rl_accel() else 'NOT installed'}"
    )
    return (
        f"| clinical record PDF, per page (CPU) | bare reportlab, same content: "
        f"{ref / m:.1f} ms ({m} pages in {ref:.0f} ms) | {mine / n:.1f} ms ({n} pages in "
        f"{mine:.0f} ms) | {ratio:.2f}× | ≤ 1.5× |"
    )


def _rl_accel() -> bool:
    try:
        import _rl_accel  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    """Parse arguments and run the benchmarks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--render-only", action="store_true", help="only time the renderer on plain data"
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument(
        "--font-dir", default=os.environ.get("COUNSELOR_PDF_FONT_DIR", DEFAULT_FONT_DIR)
    )
    parser.add_argument(
        "--exports", type=int, default=10, help="exports to time through broker and worker"
    )
    parser.add_argument(
        "--broker",
        choices=("sqlite", "redis", "both"),
        default="both",
        help="brokers for click-to-ready (redis needs REDIS_URL)",
    )
    args = parser.parse_args()
    rows = [bench_render(args.runs, args.pages, args.font_dir)]
    if not args.render_only:
        rows += run(args.exports, args.broker)
    print_table(rows)


if __name__ == "__main__":
    main()
