"""Benchmark of the local Spark JVM settings the offline tool uses (offline_aws.local_spark): prints figures.

Each sample is a fresh process that starts local Spark and runs the Glue script once over one fetch of 100
bars, as an offline Glue run or a Glue test does: with the JVM's defaults, with TUNED_OPTIONS, and with
those and the class archive (java_options()), alternating, so all see the same machine. Reports the
medians and their ratios. The archive is `make`'s (or `python -m offline_aws.local_spark
--create-class-archive`); without it, the third setting is left out.

    python -m bench.bench_local_spark              # 5 samples per setting
    python -m bench.bench_local_spark --quick      # 2 samples per setting
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SETTINGS = ("defaults", "tuned", "archive")


def child(setting: str, root: Path) -> None:
    """One sample: start Spark, run the script once, print the seconds of each part as JSON."""
    sys.path.insert(0, str(REPO / "glue"))
    import stock_data_etl
    from bench.bench_glue_job import bars_for, put_raw, raw_document
    from offline_aws.local_spark import TUNED_OPTIONS, java_options

    started = time.perf_counter()
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master("local[2]").appName("bench-local-spark")
    if setting != "defaults":
        options = TUNED_OPTIONS if setting == "tuned" else java_options()
        builder = builder.config("spark.driver.extraJavaOptions", options)
    spark = builder.config("spark.ui.enabled", "false").getOrCreate()
    up = time.perf_counter()
    document = raw_document("MSFT", bars_for(date(2024, 1, 2), 0, 100, 1), datetime.now())
    raw = put_raw(root, "fetch-1", document)
    argv = ["--JOB_NAME", "bench", "--raw_path", str(raw.parent), "--pending_path", str(root / "pending"),
            "--staging_path", str(root / "staging"), "--curated_path", str(root / "curated"),
            "--quarantine_path", str(root / "quarantine"), "--run_summary_path", str(root / "summary.json"),
            "--fetch_id", "fetch-1"]  # fmt: skip
    stock_data_etl.run(spark, stock_data_etl.parse_arguments(argv))
    done = time.perf_counter()
    spark.stop()
    print(json.dumps({"start": up - started, "run": done - up}))


def sample(setting: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-local-spark-") as scratch:
        started = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, "-m", "bench.bench_local_spark", "--child", setting, scratch],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"{setting} sample failed:\n{completed.stderr[-3000:]}")
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    return {**figures, "process": wall}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 samples per setting")
    parser.add_argument("--samples", type=int, help="samples per setting (default 5)")
    parser.add_argument("--child", nargs=2, metavar=("SETTING", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    from offline_aws.local_spark import CLASS_ARCHIVE, TUNED_OPTIONS

    count = args.samples or (2 if args.quick else 5)
    settings = SETTINGS if CLASS_ARCHIVE.is_file() else SETTINGS[:2]
    results: dict[str, list[dict[str, float]]] = {setting: [] for setting in settings}
    for _ in range(count):
        for setting in settings:
            results[setting].append(sample(setting))
    print(f"# Local Spark JVM settings: {count} fresh process(es) per setting, alternating")
    print(f"tuned: {TUNED_OPTIONS}")
    print(f"archive: tuned and {CLASS_ARCHIVE}" if CLASS_ARCHIVE.is_file() else "archive: not created")
    print(f"{'setting':<10} {'start Spark s':>14} {'script run s':>13} {'process s':>10}")
    medians = {}
    for setting, samples in results.items():
        medians[setting] = {part: statistics.median(s[part] for s in samples) for part in samples[0]}
        m = medians[setting]
        print(f"{setting:<10} {m['start']:>14.2f} {m['run']:>13.2f} {m['process']:>10.2f}")
    for setting, baseline in (("tuned", "defaults"), ("archive", "defaults"), ("archive", "tuned")):
        if setting in medians:
            ratio = medians[setting]["process"] / medians[baseline]["process"]
            print(f"{setting} / {baseline}, whole process: {ratio:.2f}x")


if __name__ == "__main__":
    main()
