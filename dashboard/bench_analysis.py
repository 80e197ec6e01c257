"""Benchmark of the analysis page in a real headless browser (Debian's Chromium via Playwright).

    python -m dashboard.bench analysis [--record PATH_WITHOUT_EXTENSION] [--out FILE]

Starts `python app.py` on a scratch instance with the demo accounts, logs in as dr.demo,
uploads a whole WFDB record (default: MIT-BIH 100 from ../shared/data, 30 min, 2 leads,
360 Hz) and measures:

* click on Analyse -> findings on screen (s): upload decoding, loading, the whole analysis,
  storing, and drawing the findings and the first figure;
* the largest paper-figure response (bytes): the initial figure and every later one;
* a pan within the stretch the browser holds (one screen each side): relayout to redrawn (ms);
* a jump that needs data from the server (ms, median of several jumps): from the relayout to
  the new stretch drawn at full resolution.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from dashboard.config import REPO_ROOT

DEFAULT_RECORD = REPO_ROOT.parent / "shared" / "data" / "physionet" / "mitdb" / "100"
CHROMIUM = os.environ.get("ECG_TEST_CHROMIUM", "/usr/bin/chromium")
# A fresh demo password per run: the benchmark logs in with it; none lives in the code.
PASSWORD = secrets.token_urlsafe(16)
PATIENT = "P-DEMO-0001"
GRAPH = '.ecg-paper[data-viewer="analysis"] .js-plotly-plot'


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_server(instance: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECG_")}
    env.update(ECG_INSTANCE_DIR=str(instance), ECG_PORT=str(port), ECG_DEMO_PASSWORD=PASSWORD)
    subprocess.run(
        [sys.executable, "-m", "dashboard", "seed-demo"],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    process = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/healthz", timeout=2)
            return process, url
        except OSError:
            if time.time() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("the app did not start") from None
            time.sleep(0.3)


def bench_analysis(record: Path, jumps: int = 7) -> dict:
    from playwright.sync_api import sync_playwright

    files = [
        str(record.with_suffix(ext)) for ext in (".hea", ".dat", ".atr") if record.with_suffix(ext).exists()
    ]
    with tempfile.TemporaryDirectory() as scratch:
        process, url = _start_server(Path(scratch) / "instance")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1920, "height": 1080})
                figure_sizes: list[int] = []

                def on_response(response):
                    if "_dash-update-component" in response.url and '"ecg-graph' in (
                        response.request.post_data or ""
                    ):
                        try:
                            figure_sizes.append(len(response.body()))
                        except Exception:  # a response without a body (204 no update)
                            pass

                page.on("response", on_response)
                page.goto(url + "/login")
                page.click("label[for=role-doctor]")
                page.fill("#username", "dr.demo")
                page.fill("#password", PASSWORD)
                page.click("#login-submit")
                page.wait_for_selector("#home-welcome")
                page.goto(f"{url}/analysis?patient={PATIENT}")
                page.wait_for_function(
                    f"(document.querySelector('#analysis-patient') || {{innerText: ''}})"
                    f".innerText.includes('{PATIENT}')"
                )
                page.click("text=Upload")
                page.set_input_files("#analysis-upload input[type=file]", files)
                page.wait_for_function(
                    "document.getElementById('analysis-upload-names').innerText.includes('.hea')"
                )
                started = time.perf_counter()
                page.click("#analysis-start")
                page.wait_for_function(
                    f"document.querySelector('#analysis-findings').innerText.includes('{record.name}.hea')"
                    " && document.querySelector('#findings-rhythm') !== null",
                    timeout=120_000,
                )
                page.wait_for_function(
                    f"document.querySelector('{GRAPH}') && document.querySelector('{GRAPH}').data.length > 0",
                    timeout=60_000,
                )
                click_to_findings_s = time.perf_counter() - started
                page.wait_for_timeout(1000)
                initial_payload = max(figure_sizes) if figure_sizes else None
                # A pan within what the browser holds (one screen each side): drawn without the server.
                local_ms = []
                for k in range(jumps):
                    shift = 2.0 if k % 2 == 0 else -2.0
                    before = time.perf_counter()
                    page.evaluate(
                        f"(() => {{ const gd = document.querySelector('{GRAPH}');"
                        " const r = gd.layout.xaxis.range;"
                        f" return Plotly.relayout(gd, {{'xaxis.range[0]': r[0] + {shift},"
                        f" 'xaxis.range[1]': r[1] + {shift}}}); }})()"
                    )
                    local_ms.append((time.perf_counter() - before) * 1000)
                    page.wait_for_timeout(300)
                # A jump far from it: the server sends the new stretch at full resolution. Each
                # lead's trace names the stretch it holds (its meta, components/ecg_viewer.py).
                rerender_ms = []
                for k in range(jumps):
                    start_s = 120.0 + 200.0 * k
                    before = time.perf_counter()
                    page.evaluate(
                        f"Plotly.relayout(document.querySelector('{GRAPH}'), "
                        f"{{'xaxis.range[0]': {start_s}, 'xaxis.range[1]': {start_s + 10}}})"
                    )
                    page.wait_for_function(
                        f"(() => {{ const gd = document.querySelector('{GRAPH}');"
                        f" const w = ((gd.data[0] || {{}}).meta || {{}}).window || [0, 0];"
                        f" return w[0] > {start_s - 25} && w[0] < {start_s}; }})()",
                        timeout=10_000,
                        polling="raf",
                    )
                    rerender_ms.append((time.perf_counter() - before) * 1000)
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=30)
    return {
        "record": record.name,
        "click_to_findings_s": round(click_to_findings_s, 2),
        "initial_figure_payload_bytes": initial_payload,
        "pan_local_ms_median": round(statistics.median(local_ms), 1),
        "pan_local_ms_max": round(max(local_ms), 1),
        "rerender_ms_median": round(statistics.median(rerender_ms), 1),
        "rerender_ms_max": round(max(rerender_ms), 1),
        "rerender_ms": [round(v, 1) for v in rerender_ms],
    }


def main(args) -> int:
    report = bench_analysis(Path(args.record))
    print(
        f"{report['record']}: click -> findings {report['click_to_findings_s']:.2f} s; "
        f"initial figure {report['initial_figure_payload_bytes']:,} bytes; "
        f"pan {report['pan_local_ms_median']:.0f} ms median; jump with new data from the server "
        f"{report['rerender_ms_median']:.0f} ms median ({report['rerender_ms_max']:.0f} max)"
    )
    Path(args.out).write_text(json.dumps(report, indent=2))
    return 0
