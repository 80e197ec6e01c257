"""The patients benchmark runs end to end (small N) and its figures are consistent."""

import json

from dashboard.bench import main


def test_patients_benchmark_smoke(tmp_path):
    out = tmp_path / "bench.json"
    assert main(["patients", "--n", "400", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["n_patients"] == 400
    queries = report["queries"]
    assert queries["first page, newest first"]["matching"] == 400
    # Half of the patients have a risk entry; the high-risk filter sees only those.
    assert 0 < queries["age 60-70, high risk"]["matching"] < 200
    assert report["slowest_median_ms"] == max(q["median_ms"] for q in queries.values())
