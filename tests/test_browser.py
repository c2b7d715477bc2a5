"""The dashboard in Debian's Chromium against a real server process.

Screenshots of the main views land in tests/_screenshots/ (cleaned at the start) so a
person can look at what the tests saw.
"""

import csv
import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import torch
from browser import CHROMIUM, CHROMIUM_ARGS, seed_runs, server
from playwright.sync_api import Browser, Page, expect, sync_playwright

SHOTS = Path(__file__).parent / "_screenshots"
# Long enough for the shared CI machine to train a short study; conditions end it early.
WAIT_MS = 120_000
# Enough epochs (about 7 s of training on an idle CPU) that the page polls, every 1.5 s,
# several times while they train: growth is seen, never one jump to the end.
EPOCHS = 60
# A deep purely linear net under SGD at lr 10 overflows to NaN within its first epoch.
DIVERGING = {"dataset": "digits", "epochs": 1, "optimizer": {"name": "sgd", "lr": 10.0},
             "model": {"kind": "layers", "layers": [{"type": "linear", "out_features": 64}] * 3
                       + [{"type": "linear"}]}}

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir()
    tmp = tmp_path_factory.mktemp("browser")
    with server(tmp / "experiments.db", tmp / "data") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(base_url)
    yield pg
    context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"


def shot(page: Page, name: str) -> None:
    # From the top, so the sticky header is drawn where it belongs in a full-page capture.
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


def points(page: Page, chart: str) -> int:
    """How many points the chart's traces hold (what the person sees drawn)."""
    return page.evaluate(
        "id => (document.getElementById(id).data || [])"
        ".reduce((n, t) => n + (t.x || []).length, 0)", chart)


def test_empty_page_and_a_refused_launch(page: Page) -> None:
    expect(page.locator("#runs-body")).to_contain_text("No runs yet")
    expect(page.locator("#health")).to_contain_text("cpu")
    shot(page, "01-empty")
    page.fill("#f-epochs", "100000")
    page.click("#launch-submit")
    error = page.locator("#launch-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("The server refused the run (HTTP 422)")
    expect(error).to_contain_text("epochs")
    expect(page.locator("#f-epochs")).to_have_class("invalid")
    error.scroll_into_view_if_needed()
    shot(page, "02-refused-launch")


def test_study_from_the_page_grows_then_detail_pad_and_export(page: Page,
                                                               base_url: str) -> None:
    # Launch the notebook's optimizer comparison from its button, shortened.
    preset = page.locator("[data-testid=preset-optimizer]")
    default_epochs = preset.locator(".preset-epochs").inner_text()
    page.fill("#preset-epochs", "1")
    expect(preset).to_contain_text("1 epoch (override)")
    page.fill("#preset-epochs", "")
    expect(preset.locator(".preset-epochs")).to_have_text(default_epochs)
    page.fill("#preset-epochs", str(EPOCHS))
    expect(preset).to_contain_text(f"{EPOCHS} epochs (override)")
    expect(page.locator("#health")).to_contain_text("queue 0 · idle")
    preset.click()
    expect(page.locator("#preset-message")).to_contain_text(
        f"with 3 runs ({EPOCHS} epochs each)")
    # The health pill is asked again right after the launch, not at its next poll.
    expect(page.locator("#health")).not_to_contain_text("queue 0 · idle", timeout=1500)
    expect(page.locator("#runs-body tr[data-run-id]")).to_have_count(3)
    total = 3 * EPOCHS
    # The curves grow while the runs train: record what the chart holds as it changes.
    page.evaluate("""() => {
        window.__seen = [];
        const gd = document.getElementById('chart-train-loss');
        const count = () => (gd.data || []).reduce((n, t) => n + t.x.length, 0);
        new MutationObserver(() => window.__seen.push(count()))
            .observe(gd, {subtree: true, childList: true, attributes: true});
    }""")
    page.wait_for_function(
        "(document.getElementById('chart-test-acc').data || [])"
        f".reduce((n, t) => n + t.x.length, 0) === {total}", timeout=WAIT_MS)
    seen = sorted(set(page.evaluate("window.__seen")) - {0})
    assert seen[-1] == total and len(seen) >= 2, f"drawn all at once: {seen}"
    expect(page.locator("#runs-body .badge-completed")).to_have_count(3, timeout=WAIT_MS)
    assert points(page, "chart-train-loss") == total
    expect(page.locator("#compare-body tr")).to_have_count(3)
    # Only the differing config fields are columns: the optimizer's name, lr and momentum.
    headers = page.locator("#compare-head th").all_inner_texts()
    assert any("optimizer.name" in h for h in headers) and not any("dataset" in h for h in headers)
    page.select_option("#opt-x", "seconds")
    page.locator("#opt-log").check()
    page.locator("#compare-card").scroll_into_view_if_needed()
    shot(page, "03-compare")
    page.select_option("#opt-x", "epoch")

    # Export the selection's metrics as CSV: a real download, one row per epoch.
    with page.expect_download() as dl:
        page.click("[data-testid=export-csv]")
    rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text())))
    assert len(rows) == total and {int(r["epoch"]) for r in rows} == set(range(1, EPOCHS + 1))

    # Draw a 1 on the pad: every selected trained model answers.
    pad = page.locator("#pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 150, box["y"] + 40)
    page.mouse.down()
    for i in range(1, 21):
        page.mouse.move(box["x"] + 142, box["y"] + 40 + i * 10)
    page.mouse.up()
    expect(page.locator("#pad-answers li")).to_have_count(3)
    page.wait_for_function("(document.getElementById('chart-pad').data || []).length === 3")
    probs = page.evaluate(
        "document.getElementById('chart-pad').data.map(t => t.y.reduce((a, b) => a + b, 0))")
    assert all(abs(p - 1) < 1e-3 for p in probs)
    page.locator("#pad-card").screenshot(path=SHOTS / "04-digit-pad.png")

    # A run that diverges at once, for its detail page below (trains while this one is read).
    bad_id = httpx.post(f"{base_url}/api/runs", json=DIVERGING).json()["id"]
    # A run's detail: config, history, curves, confusion matrix and mistakes.
    first = page.locator("#runs-body tr[data-run-id] a.run-name").last
    run_id = first.get_attribute("href").rsplit("/", 1)[-1]
    first.click()
    expect(page).to_have_url(f"{base_url}/#/runs/{run_id}")
    expect(page.locator("#d-sub")).to_contain_text("completed")
    expect(page.locator("#d-history li")).to_have_count(3)
    page.wait_for_function(
        "(document.getElementById('chart-d-confusion').data || [])[0]?.type === 'heatmap'")
    confusion = page.evaluate("document.getElementById('chart-d-confusion').data[0].z")
    assert sum(map(sum, confusion)) == 1000
    assert page.locator("#d-gallery figure").count() > 0
    assert points(page, "chart-d-loss") == 2 * EPOCHS
    # Tags typed here are saved on the server and find the run in the list.
    page.fill("#d-tags", "keep, baseline")
    page.click("#d-save")
    expect(page.locator("#d-message")).to_contain_text("Saved")
    assert httpx.get(f"{base_url}/api/runs/{run_id}").json()["tags"] == ["keep", "baseline"]
    shot(page, "05-run-detail")
    # The weights download loads back as plain tensors.
    with page.expect_download() as dl:
        page.click("#d-weights")
    state = torch.load(dl.value.path(), weights_only=True)
    assert sum(t.numel() for t in state.values() if t.is_floating_point()) == 26_506
    # Clone queues the same config again and opens the new run.
    page.click("#d-clone")
    expect(page.locator("#d-message")).to_contain_text(f"Cloned from run #{run_id}")
    clone_id = page.url.rsplit("/", 1)[-1]
    assert clone_id != run_id
    clone = httpx.get(f"{base_url}/api/runs/{clone_id}").json()
    original = httpx.get(f"{base_url}/api/runs/{run_id}").json()
    assert clone["config"] == original["config"] and clone["group_key"] == original["group_key"]
    # A cancel asked for while the run still trains shows as such (the field is optional).
    assert page.evaluate("""() => import('/js/runs.js').then((m) => [
        m.runBadge({status: 'running', cancel_requested: true}).textContent,
        m.runBadge({status: 'running'}).textContent])""") == ["cancelling…", "running"]

    # A failed run's text wraps inside its cards, however long its unbroken words.
    def long_error(route: Any) -> None:
        resp = route.fetch()
        body = resp.json()
        if body.get("error"):
            body["error"] += " " + "x" * 400
        route.fulfill(response=resp, json=body)

    page.route(f"**/api/runs/{bad_id}", long_error)
    page.goto(f"{base_url}/#/runs/{bad_id}")
    expect(page.locator("#d-error")).to_contain_text("This run diverged: diverged in epoch 1",
                                                     timeout=WAIT_MS)
    expect(page.locator("#d-history li")).to_have_count(3)
    assert page.evaluate("""() => [...document.querySelectorAll('#view-detail .card')]
        .every((c) => c.scrollWidth <= c.clientWidth)""")
    shot(page, "05-run-detail-diverged")
    # Then a run that does not exist: nothing of the last one stays, nothing acts on it.
    page.goto(f"{base_url}/#/runs/9999")
    expect(page.locator("#d-message")).to_contain_text("Run #9999 does not exist")
    expect(page.locator("#d-error")).to_be_hidden()
    expect(page.locator("#d-config-json")).to_have_text("")
    expect(page.locator("#d-history li")).to_have_count(0)
    expect(page.locator("#d-facts")).to_have_text("")
    for button in ("#d-clone", "#d-config", "#d-csv", "#d-weights", "#d-save"):
        expect(page.locator(button)).to_be_disabled()
    shot(page, "05-run-missing")
    page.click("text=← All runs")
    page.fill("#filter-tag", "keep")
    expect(page.locator("#runs-body tr[data-run-id]")).to_have_count(1)
    expect(page.locator("#runs-body .tag").first).to_have_text("keep")


def test_page_asks_for_the_token_once_when_the_server_wants_one(
    browser: Browser, tmp_path: Path,
) -> None:
    with server(tmp_path / "locked.db", tmp_path / "data",
                extra_env={"TRAINBOARD_TOKEN": "s3cret", "TRAINBOARD_WORKER": "false"}) as url:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        prompts: list[str] = []

        def answer(dialog: Any) -> None:
            prompts.append(dialog.message)
            dialog.accept("s3cret")

        page.on("dialog", answer)
        page.goto(url)
        expect(page.locator("#runs-body")).to_contain_text("No runs yet")
        page.fill("#f-epochs", "1")
        page.click("#launch-submit")
        expect(page.locator("#launch-ok")).to_contain_text("Launched run #1")
        # Kept for the tab: a reload and a second launch ask nothing more.
        page.reload()
        page.click("#launch-submit")
        expect(page.locator("#launch-ok")).to_contain_text("Launched run #2")
        assert len(prompts) == 1 and "token" in prompts[0]
        assert httpx.get(f"{url}/api/runs").json()["count"] == 2
        context.close()


def test_seed_groups_options_filters_and_pages(browser: Browser, tmp_path: Path) -> None:
    """36 finished runs written through the store (12 configs x 3 seeds), no training."""
    db = tmp_path / "seeded.db"
    seed_runs(db, configs=12, seeds=3, epochs=5)
    with server(db, tmp_path / "data", extra_env={"TRAINBOARD_WORKER": "false"}) as url:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.goto(url)
        summary = page.locator("#runs-summary")
        expect(summary).to_contain_text("1–25 of 36 runs")
        page.click("#page-next")
        expect(summary).to_contain_text("26–36 of 36 runs")
        expect(page.locator("#runs-body tr[data-run-id]")).to_have_count(11)
        page.fill("#filter-q", "no such run")
        expect(page.locator("#runs-body")).to_contain_text("No runs match these filters")
        # Filters go to the server and start again at the first page.
        page.fill("#filter-q", "seeded 4")
        expect(summary).to_contain_text("1–3 of 3 runs matching")
        page.click("#select-matching")

        def traces() -> list[dict[str, Any]]:
            return page.evaluate("""() => document.getElementById('chart-test-acc').data
                .map(t => ({x: t.x, y: t.y, fill: t.fill || null, name: t.name || null}))""")

        # Three seeds of one config: a band (upper, lower filled to it) and the mean line.
        page.wait_for_function("(document.getElementById('chart-test-acc').data || [])"
                               ".some(t => t.y.length === 5)")
        band = traces()
        assert [t["fill"] for t in band] == [None, "tonexty", None]
        # The group is named after its configuration, not after one of its seeds.
        assert band[2]["name"].endswith("· 3 seeds") and ", seed" not in band[2]["name"]
        assert all(lo <= m <= hi for lo, m, hi in zip(band[1]["y"], band[2]["y"], band[0]["y"],
                                                      strict=True))
        expect(page.locator("#compare-body tr")).to_have_count(1)
        # Expanded, each seed is drawn too and listed under the group.
        page.click("#compare-body button.expand")
        expect(page.locator("#compare-body tr")).to_have_count(4)
        page.wait_for_function("document.getElementById('chart-test-acc').data.length === 6")
        # Smoothing changes later points but keeps the first (debiased average).
        page.locator("#opt-smooth").fill("0.9")
        page.wait_for_function("document.querySelector('#opt-smooth-value').textContent === '0.90'")
        smoothed = traces()[2]["y"]
        assert smoothed[0] == pytest.approx(band[2]["y"][0]) and smoothed[-1] != band[2]["y"][-1]
        page.select_option("#opt-x", "samples")
        page.wait_for_function("document.getElementById('chart-test-acc').data[2].x[0] === 4000")
        assert traces()[2]["x"] == [4000 * e for e in range(1, 6)]
        page.locator("#opt-group").uncheck()
        page.wait_for_function("document.getElementById('chart-test-acc').data.length === 3")
        assert all(t["fill"] is None for t in traces())
        page.locator("#opt-group").check()
        page.locator("#compare-card").scroll_into_view_if_needed()
        shot(page, "06-seed-groups")
        context.close()

        # A finger on the pad draws too (real touch events, turned into pointer events by
        # Chromium), and the page does not scroll away under it.
        context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True,
                                      is_mobile=True)
        page = context.new_page()
        page.goto(url)
        pad = page.locator("#pad")
        pad.scroll_into_view_if_needed()
        box = pad.bounding_box()
        assert box is not None
        scroll_before = page.evaluate("window.scrollY")
        cdp = context.new_cdp_session(page)
        x, y = box["x"] + box["width"] / 2, box["y"] + 20
        cdp.send("Input.dispatchTouchEvent",
                 {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
        for i in range(1, 16):
            cdp.send("Input.dispatchTouchEvent",
                     {"type": "touchMove", "touchPoints": [{"x": x, "y": y + i * 14}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        inked = page.evaluate("""() => {
            const c = document.getElementById('pad');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] < 128) n++; return n; }""")
        assert inked > 1000
        assert page.evaluate("window.scrollY") == scroll_before
        # Nothing on this page is wider than a phone.
        assert page.evaluate("document.documentElement.scrollWidth") == 390
        shot(page, "07-phone")
        context.close()
