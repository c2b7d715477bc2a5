"""How the dashboard holds up with many runs.

Seeds 200 completed runs x 25 epochs straight into a fresh database through the store (no
training: 40 configurations x 5 seeds, with plausible curves), starts the real server on
it, then measures

- the metrics API: p50/p99 latency of ``GET /api/runs/{id}/metrics`` (all 25 epochs, and
  the incremental ``after=24`` poll), and of one page of ``GET /api/runs``;
- the compare view: time from selecting 50 runs in headless Chromium until all four metric
  charts hold every point (each run's metrics fetched, traces drawn), seed groups on and off.

    .venv/bin/python -m benchmarks.dashboard [--repeats 5] [--requests 500]
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from browser import CHROMIUM, CHROMIUM_ARGS, seed_runs, server  # noqa: E402

RUNS, EPOCHS, SEEDS, COMPARED = 200, 25, 5, 50


def seed_database(db: Path) -> list[int]:
    """200 completed runs with 25 epochs each, written as the worker would write them."""
    return seed_runs(db, RUNS // SEEDS, SEEDS, EPOCHS)


def percentiles(samples: list[float]) -> str:
    qs = statistics.quantiles(samples, n=100)
    return f"p50 {qs[49] * 1000:.1f} ms, p99 {qs[98] * 1000:.1f} ms (n={len(samples)})"


def api_latency(url: str, ids: list[int], requests: int) -> None:
    rng = random.Random(1)
    with httpx.Client(base_url=url) as client:
        for label, path in (("metrics, all 25 epochs", "/api/runs/{id}/metrics?after=0"),
                            ("metrics, after=24 (a poll)", "/api/runs/{id}/metrics?after=24"),
                            ("runs list, 25 a page", "/api/runs?limit=25&offset={off}")):
            samples = []
            for _ in range(requests):
                p = path.format(id=rng.choice(ids), off=rng.randrange(0, RUNS - 25))
                t0 = time.perf_counter()
                r = client.get(p)
                samples.append(time.perf_counter() - t0)
                assert r.status_code == 200, r.text
            print(f"  {label:<28} {percentiles(samples)}")


# Resolves with the ms from selecting the runs until every chart holds all its points.
MEASURE = """async ([ids, want]) => {
  const charts = ['chart-train-loss', 'chart-test-loss', 'chart-test-acc', 'chart-train-acc'];
  const count = (id) => (document.getElementById(id).data || [])
      .reduce((n, t) => n + (t.x || []).length, 0);
  const t0 = performance.now();
  window.trainboard.setSelection(ids);
  while (!charts.every((c) => count(c) === want)) {
    await new Promise((r) => requestAnimationFrame(r));
    if (performance.now() - t0 > 60000) throw new Error('timeout: ' + charts.map(count));
  }
  return performance.now() - t0;
}"""


def render_times(url: str, ids: list[int], repeats: int) -> None:
    from playwright.sync_api import sync_playwright

    chosen = sorted(ids)[:COMPARED]  # 10 configurations x 5 seeds
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for grouped in (False, True):
            # Grouped: each of the 10 groups draws a band (two traces) and a mean line.
            want = (COMPARED // SEEDS) * 3 * EPOCHS if grouped else COMPARED * EPOCHS
            times = []
            for _ in range(repeats):
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.goto(url)
                page.wait_for_selector("#runs-body tr[data-run-id]")
                page.evaluate("localStorage.clear()")
                if not grouped:
                    page.locator("#opt-group").uncheck()
                times.append(page.evaluate(MEASURE, [chosen, want]))
                page.close()
            label = "seed groups as bands" if grouped else "50 separate lines"
            print(f"  compare view, {label:<21} median {statistics.median(times):.0f} ms "
                  f"(min {min(times):.0f}, max {max(times):.0f}, n={repeats})")
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        t0 = time.perf_counter()
        ids = seed_database(db)
        print(f"seeded {len(ids)} runs x {EPOCHS} epochs in {time.perf_counter() - t0:.1f} s")
        with server(db, Path(tmp) / "data") as url:
            print("API latency (one client, sequential):")
            api_latency(url, ids, args.requests)
            print("Headless Chromium:")
            render_times(url, ids, args.repeats)


if __name__ == "__main__":
    main()
