"""Benchmark of both workflows on the embedded emulation, and of the fetch handlers' cold start.

1. Per workflow, over N executions of events/execution_<workflow>.json on template.yaml deployed offline:
   states entered, state transitions (what Step Functions bills: every state entered plus every retry),
   wall time from the execution's history, the Glue step's wall time and the rest (wall time excluding
   Spark), and the slowest states.
2. Cold start of each fetch handler as `sam build` packages it (offline, from .wheelhouse; each package's
   and the layer's size printed): fresh Python processes that see only the function's package, the layer
   and the python3.11 runtime's libraries (this virtualenv's copies of layers/requests/runtime-provided.txt).
   The environment is what Lambda sets for the function, nothing more: its variables, Lambda's defined
   runtime variables (X-Ray's among them) and, with its Tracing: Active, a sampled `_X_AMZN_TRACE_ID`; no
   variable that turns tracing off. One imports the handler: its CPU (user + sys) as a ratio to the bare
   handler's `import json, requests` (this virtualenv's requests), measured in the same run. Another
   imports it, then invokes it once (reading the RapidAPI key from the emulated Secrets Manager and calling
   the RapidAPI stand-in) and once more (the key cached, as in a warm Lambda). Median of K processes of
   each, interleaved.

    python -m bench.bench_workflows                 # 3 executions per workflow, 5 cold starts
    python -m bench.bench_workflows --quick         # 1 execution per workflow, 3 cold starts
    python -m bench.bench_workflows --runs 10 --cold-starts 10 --workflows streaming
    python -m bench.bench_workflows --workflows "" --cold-starts 10   # cold starts only

Prints figures, asserts nothing. Offline figures: moto answers SDK calls in-process, every Lambda
invocation is a fresh subprocess, Spark runs local; see the README for what that does not reproduce.
"""

import argparse
import importlib.metadata
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from offline_aws.clients import DUMMY_CREDENTIALS  # noqa: E402
from offline_aws.cost import DOLLARS_PER_TRANSITION, event_time  # noqa: E402
from offline_aws.deployer import DeployedStack  # noqa: E402
from offline_aws.emulation import Emulation, ExecutionResult, time_scale_from_env  # noqa: E402
from offline_aws.lambda_runner import base_handler_environment, trace_header  # noqa: E402
from offline_pipeline.rapidapi_standin import RapidApiStandIn  # noqa: E402
from offline_pipeline.report import HistoryTracker  # noqa: E402
from offline_pipeline.stack import offline_pipeline  # noqa: E402

WORKFLOWS = ("etl", "streaming")
# Fetch function logical ID -> its ready-made event.
FUNCTIONS = {
    "FetchStockDataFunction": "events/fetch_stock_data.json",
    "FetchSubscriptionDataFunction": "events/fetch_subscription_data.json",
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 execution per workflow, 3 cold starts")
    parser.add_argument("--runs", type=int, help="executions per workflow (default 3)")
    parser.add_argument("--cold-starts", type=int, help="fresh processes per fetch handler (default 5)")
    parser.add_argument(
        "--workflows", default=",".join(WORKFLOWS), help='comma-separated: etl,streaming; "" for none'
    )
    args = parser.parse_args(argv)
    args.runs = args.runs or (1 if args.quick else 3)
    args.cold_starts = args.cold_starts or (3 if args.quick else 5)
    args.workflows = [w for w in args.workflows.split(",") if w]
    unknown = set(args.workflows) - set(WORKFLOWS)
    if unknown:
        parser.error(f"unknown workflows {sorted(unknown)}; choose from {', '.join(WORKFLOWS)}")
    return args


# ------------------------------------------------------------------ executions


@dataclass
class RunFigures:
    states_entered: int
    transitions: int
    retries: int
    wall_seconds: float
    glue_seconds: float | None
    glue_script_seconds: float | None
    state_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def without_spark_seconds(self) -> float:
        return self.wall_seconds - (self.glue_seconds or 0.0)


def figures_of(result: ExecutionResult) -> RunFigures:
    """Read off the history as the offline run's report reads it (the Glue step by its integration)."""
    tracker = HistoryTracker(lambda line: None)
    tracker.feed(result.history)
    state_seconds: dict[str, float] = {}
    for record in tracker.states:
        state_seconds[record.name] = state_seconds.get(record.name, 0.0) + (record.seconds or 0.0)
    # Every task attempt after the first in its state is a retry.
    retries = sum(record.retries for record in tracker.states)
    history = result.history
    wall = (event_time(history[-1]) - event_time(history[0])).total_seconds()
    summary = (result.output or {}).get("runSummary") or {}
    glue = tracker.task_of("glue")
    return RunFigures(
        states_entered=len(tracker.states),
        transitions=len(tracker.states) + retries,
        retries=retries,
        wall_seconds=wall,
        glue_seconds=glue.seconds if glue else None,
        glue_script_seconds=summary.get("durationSeconds"),
        state_seconds=state_seconds,
    )


def run_workflow(
    emulation: Emulation, stack: DeployedStack, workflow: str, runs: int, progress: Callable[[str], None]
) -> list[RunFigures]:
    execution_input = json.loads((REPO / f"events/execution_{workflow}.json").read_text())
    figures = []
    for number in range(1, runs + 1):
        result = emulation.run_execution(stack.outputs["StateMachineArn"], execution_input, timeout=900)
        if result.status != "SUCCEEDED":
            raise SystemExit(f"{workflow} run {number} ended {result.status}: {result.error}: {result.cause}")
        figures.append(figures_of(result))
        progress(f"  {workflow} run {number}/{runs}: {figures[-1].wall_seconds:.2f} s")
    return figures


def median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def print_workflow_table(results: dict[str, list[RunFigures]]) -> None:
    print()
    print("Workflows (median of runs; min-max in brackets)")
    header = (
        f"{'workflow':<10} {'runs':>4} {'states':>7} {'transitions':>11} {'retries':>7} "
        f"{'wall time':>20} {'excluding Spark':>20} {'Glue step':>20} {'Glue script':>11} {'$/1k runs':>10}"
    )
    print(header)
    print("-" * len(header))

    def spread(values: list[float | None]) -> str:
        present = [v for v in values if v is not None]
        if not present:
            return "-"
        return f"{statistics.median(present):.2f} s ({min(present):.2f}-{max(present):.2f})"

    for workflow, runs in results.items():
        transitions = median([r.transitions for r in runs]) or 0
        print(
            f"{workflow:<10} {len(runs):>4} {median([r.states_entered for r in runs]):>7.0f} "
            f"{transitions:>11.0f} {median([r.retries for r in runs]):>7.0f} "
            f"{spread([r.wall_seconds for r in runs]):>20} "
            f"{spread([r.without_spark_seconds for r in runs]):>20} "
            f"{spread([r.glue_seconds for r in runs]):>20} "
            f"{seconds(median([r.glue_script_seconds for r in runs])):>11} "
            f"{transitions * DOLLARS_PER_TRANSITION * 1000:>10.3f}"
        )
    etl = [r.wall_seconds for r in results.get("etl", [])]
    if len(etl) > 1 and all(etl):
        # Spark stays warm across the Glue runs of one emulation: later runs skip its start.
        ratios = ", ".join(f"{later / etl[0]:.2f}x" for later in etl[1:])
        print(f"\nETL executions 2..{len(etl)} against the first (warm Spark): {ratios}")
    print()
    print("Slowest states (median seconds from entered to exited)")
    for workflow, runs in results.items():
        names = {name for run in runs for name in run.state_seconds}
        per_state = {name: median([run.state_seconds.get(name) for run in runs]) or 0.0 for name in names}
        slowest = sorted(per_state.items(), key=lambda item: -item[1])[:5]
        print(f"  {workflow:<10} " + ", ".join(f"{name} {value:.2f}" for name, value in slowest))


# ------------------------------------------------------------------ cold starts

# The original system's handler imported no more than this: the baseline of every cold-start ratio.
BARE_HANDLER_IMPORT = "import json, requests"
# Issue 14: a fetch handler's import costs at most this many times the bare handler's, tracing on.
IMPORT_GOAL = 2.0
LAYER = "RequestsLayer"
# What `sam build` packages, each sized in the output.
PACKAGES = (*FUNCTIONS, "ValidateExecutionInputFunction", LAYER)
RUNTIME_PROVIDED = REPO / "layers/requests/runtime-provided.txt"

# Runs in the fresh process: the Lambda runtime's order of work (import, then invoke), timed.
CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import app
t1 = time.perf_counter()
import rapidapi.client as client

secret_seconds = []
read_api_key = client.read_api_key
def timed_read_api_key():
    started = time.perf_counter()
    try:
        return read_api_key()
    finally:
        secret_seconds.append(time.perf_counter() - started)
client.read_api_key = timed_read_api_key

class Context:
    function_name = sys.argv[2]
    memory_limit_in_mb = 256
    invoked_function_arn = sys.argv[3]
    aws_request_id = "bench-cold-start"

event = json.loads(open(sys.argv[4]).read())
app.lambda_handler(event, Context())
t2 = time.perf_counter()
app.lambda_handler(event, Context())
t3 = time.perf_counter()
with open(sys.argv[1], "w") as out:
    json.dump({"import": t1 - t0, "first": t2 - t1, "second": t3 - t2, "secret": secret_seconds[0]}, out)
"""


@dataclass
class ColdStart:
    process: float
    process_cpu: float
    import_: float
    first: float
    secret: float
    second: float


@dataclass
class ColdStartResults:
    bare_import_cpu: list[float]
    import_cpu: dict[str, list[float]]
    starts: dict[str, list[ColdStart]]
    package_bytes: dict[str, int]
    tracing: str = ""


def runtime_provided() -> list[str]:
    """The distributions the python3.11 runtime provides (the file cites where AWS says so)."""
    lines = (line.strip() for line in RUNTIME_PROVIDED.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def runtime_libraries(target: Path) -> Path:
    """A stand-in for the runtime's own libraries: links to this virtualenv's copies of them."""
    target.mkdir(parents=True, exist_ok=True)
    for name in runtime_provided():
        distribution = importlib.metadata.distribution(name)
        tops = {
            file.parts[0]
            for file in distribution.files or []
            if file.parts[0] not in ("..", "__pycache__") and not file.parts[0].endswith(".dist-info")
        }
        for top in sorted(tops):
            (target / top).symlink_to(Path(str(distribution.locate_file(top))))
    return target


def sam_build(scratch: Path) -> Path:
    """`sam build` of template.yaml as the tests run it, offline from the wheelhouse; the build directory."""
    wheelhouse = REPO / ".wheelhouse"
    if not any(wheelhouse.glob("*.whl")):
        raise SystemExit("No wheelhouse: run `make wheelhouse` so that sam build can install offline.")
    build = scratch / "build"
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse)}
    command = [str(Path(sys.executable).parent / "sam"), "build", "--build-dir", str(build)]
    done = subprocess.run(
        [*command, "--cache-dir", str(scratch / "cache")], cwd=REPO, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"sam build failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return build


def directory_bytes(path: Path) -> int:
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file())


def run_measured(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Runs one fresh process to its end: its wall and CPU (user + sys) seconds."""
    with tempfile.TemporaryFile(mode="w+") as stderr:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            stderr.seek(0)
            raise SystemExit(f"{argv[3][:60]!r} in {cwd.name} failed:\n{stderr.read()[-3000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def handler_environment(
    emulation: Emulation, configuration: dict[str, Any], standin: RapidApiStandIn, scratch: Path
) -> dict[str, str]:
    # As the offline Lambda runner sets it up: the function's variables, the stand-in, the emulation; the
    # trace header for the whole process (Lambda sets it per invocation, after the init phase).
    env = {
        **base_handler_environment(),
        "_X_AMZN_TRACE_ID": trace_header(configuration["TracingConfig"]["Mode"]),
        **configuration["Environment"]["Variables"],
        **standin.env,
        **emulation.subprocess_env(),
        **DUMMY_CREDENTIALS,
        "AWS_LAMBDA_FUNCTION_NAME": configuration["FunctionName"],
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(configuration["MemorySize"]),
        "HOME": str(scratch),
        "AWS_CONFIG_FILE": str(scratch / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(scratch / "no-aws-credentials"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return env


@dataclass
class BuiltHandler:
    package: Path
    env: dict[str, str]
    function_arn: str


def cold_starts(
    emulation: Emulation, stack: DeployedStack, standin: RapidApiStandIn, count: int
) -> ColdStartResults:
    """Each fetch handler as `sam build` packages it, in fresh processes that see what Lambda's python3.11
    sys.path holds: the function's package, the layer, then the runtime's libraries (`-S`: nothing of this
    virtualenv's site-packages). Interleaved with the bare handler's import, so that all share one load."""
    with tempfile.TemporaryDirectory(prefix="bench-cold-start-") as scratch_name:
        scratch = Path(scratch_name)
        build = sam_build(scratch)
        runtime = runtime_libraries(scratch / "runtime")
        handlers: dict[str, BuiltHandler] = {}
        tracing: dict[str, tuple[str, str]] = {}
        for logical_id in FUNCTIONS:
            configuration = emulation.client("lambda").get_function_configuration(
                FunctionName=stack.ref(logical_id)
            )
            package = build / logical_id
            env = {
                **handler_environment(emulation, configuration, standin, scratch),
                "LAMBDA_TASK_ROOT": str(package),
                "PYTHONPATH": os.pathsep.join([str(package), str(build / LAYER / "python"), str(runtime)]),
            }
            handlers[logical_id] = BuiltHandler(package, env, configuration["FunctionArn"])
            tracing[logical_id] = (configuration["TracingConfig"]["Mode"], env["_X_AMZN_TRACE_ID"])
        results = ColdStartResults(
            bare_import_cpu=[],
            import_cpu={name: [] for name in FUNCTIONS},
            starts={name: [] for name in FUNCTIONS},
            package_bytes={name: directory_bytes(build / name) for name in PACKAGES},
            tracing=", ".join(
                f"{name} TracingConfig {mode}, _X_AMZN_TRACE_ID ...{header[-9:]}"
                for name, (mode, header) in tracing.items()
            ),
        )
        python = [sys.executable, "-S", "-P", "-c"]
        # The bare handler's requests is this virtualenv's (bytecode compiled): the same whatever the build.
        bare = next(iter(handlers.values()))
        bare_env = {**bare.env, "PYTHONPATH": sysconfig.get_paths()["purelib"]}
        for number in range(count):
            results.bare_import_cpu.append(
                run_measured([*python, BARE_HANDLER_IMPORT], bare.package, bare_env)[1]
            )
            for logical_id, handler in handlers.items():
                _, cpu = run_measured([*python, "import app"], handler.package, handler.env)
                results.import_cpu[logical_id].append(cpu)
                out = scratch / f"timings-{logical_id}-{number}.json"
                event = str(REPO / FUNCTIONS[logical_id])
                function_name = handler.env["AWS_LAMBDA_FUNCTION_NAME"]
                argv = [*python, CHILD, str(out), function_name, handler.function_arn, event]
                wall, cpu = run_measured(argv, handler.package, handler.env)
                t = json.loads(out.read_text())
                results.starts[logical_id].append(
                    ColdStart(wall, cpu, t["import"], t["first"], t["secret"], t["second"])
                )
    return results


def print_cold_start_tables(results: ColdStartResults) -> None:
    print()
    print("Lambda packages after `sam build` (offline, from .wheelhouse)")
    for name, size in results.package_bytes.items():
        shown = f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"
        print(f"  {name:<32} {shown:>8}" + ("  (the layer all functions share)" if name == LAYER else ""))
    bare = statistics.median(results.bare_import_cpu)
    print()
    print(
        "Cold import of each fetch handler: a fresh process imports the built handler, seeing only its"
        "\npackage, the layer and the runtime's libraries; CPU (user + sys) of the whole process, median of"
        f" {len(results.bare_import_cpu)}"
    )
    print(f"  tracing as on AWS: {results.tracing}")
    print(f"  {'bare handler (' + BARE_HANDLER_IMPORT + ')':<40} {bare * 1000:>6.0f} ms  1.00x")
    for logical_id, samples in results.import_cpu.items():
        cpu = statistics.median(samples)
        ratio = cpu / bare
        goal = "within" if ratio <= IMPORT_GOAL else "over"
        print(
            f"  {logical_id:<40} {cpu * 1000:>6.0f} ms  {ratio:.2f}x the bare handler's"
            f" ({goal} the {IMPORT_GOAL:.1f}x goal)"
        )
    print()
    print("Fetch handler cold start (the same fresh process, then two invocations; median, milliseconds)")
    header = (
        f"{'function':<30} {'runs':>4} {'import':>8} {'1st invoke':>10} {'of which secret':>15} "
        f"{'2nd invoke':>10} {'whole process':>13} {'process CPU':>11}"
    )
    print(header)
    print("-" * len(header))
    for logical_id, starts in results.starts.items():

        def ms(pick: Callable[[ColdStart], float], starts: list[ColdStart] = starts) -> str:
            return f"{statistics.median(pick(s) for s in starts) * 1000:.0f}"

        print(
            f"{logical_id:<30} {len(starts):>4} {ms(lambda s: s.import_):>8} {ms(lambda s: s.first):>10} "
            f"{ms(lambda s: s.secret):>15} {ms(lambda s: s.second):>10} {ms(lambda s: s.process):>13} "
            f"{ms(lambda s: s.process_cpu):>11}"
        )
    print(
        "  1st invoke includes the secret read (Parameters and boto3 imported, a client, a Secrets Manager"
        "\n  call) and the HTTP call; 2nd invoke is the same call warm (key cached by Powertools, HTTP"
        "\n  session reused)."
    )


# ------------------------------------------------------------------ main


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)

    def progress(text: str) -> None:
        sys.stdout.flush()  # keep figures and progress in order on a terminal
        print(text, file=sys.stderr, flush=True)

    time_scale = time_scale_from_env()
    print(
        f"# Workflow benchmark: {args.runs} execution(s) per workflow, {args.cold_starts} cold start(s) "
        f"per handler, Wait/Retry delays at {time_scale}x"
    )
    started = time.perf_counter()
    with offline_pipeline(time_scale=time_scale) as pipeline:
        emulation, stack, standin = pipeline.emulation, pipeline.stack, pipeline.standin
        print(f"Started the emulation and deployed template.yaml in {time.perf_counter() - started:.2f} s")
        workflow_results = {
            workflow: run_workflow(emulation, stack, workflow, args.runs, progress)
            for workflow in args.workflows
        }
        progress(f"  sam build, then {args.cold_starts} cold starts of each fetch handler")
        cold_start_results = cold_starts(emulation, stack, standin, args.cold_starts)
    if workflow_results:
        print_workflow_table(workflow_results)
    print_cold_start_tables(cold_start_results)


if __name__ == "__main__":
    main()
