"""Load while training: 200 concurrent reads and 50 launches against a real server whose
worker is writing metrics. No error, no "database is locked", nothing lost."""

from pathlib import Path

from benchmarks.load import burst, start_training

from server import Server


def test_concurrent_reads_and_launches_while_a_run_trains(tmp_path: Path) -> None:
    server = Server(tmp_path / "experiments.db")
    try:
        training = start_training(server)
        before = server.run(training)["epochs_done"]
        result = burst(server.url, training, reads=200, launches=50)
        assert result.errors == []
        assert sum(len(v) for v in result.latencies.values()) == 250
        # Every launch got its own id, and the server lists each of them.
        assert len(set(result.launched)) == 50
        listed = server.http.get("/api/runs", params={"limit": 1000}).json()
        assert listed["count"] == 51
        assert set(result.launched) <= {r["id"] for r in listed["data"]}
        # The worker kept writing through the burst, and its epochs are contiguous.
        run = server.run(training)
        assert run["status"] == "running" and run["epochs_done"] > before
        epochs = [m["epoch"] for m in
                  server.http.get(f"/api/runs/{training}/metrics").json()["data"]]
        assert epochs == list(range(1, len(epochs) + 1))
        log = server.log()
        assert "database is locked" not in log and "Traceback" not in log
    finally:
        server.close()
