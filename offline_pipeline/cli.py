"""`python -m offline_pipeline run|invoke`: this project's workflows and functions on the embedded emulation.

run     deploys template.yaml into the emulation and runs executions of the real state machine, printing
        each state as it happens and a summary per execution; exit status 1 when any execution fails.
invoke  the offline counterpart of `sam local invoke`: one function's real handler, one event.

Nothing reaches AWS or the internet: RapidAPI is a local stand-in serving reference payloads, and the
secret holds its random key, which output never shows.
"""

import argparse
import base64
import json
import re
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, TextIO, cast

from botocore.exceptions import ClientError

from offline_aws.cfn_template import TemplateError, load_template
from offline_aws.deployer import DeployError
from offline_aws.emulation import TERMINAL_STATUSES, Emulation, ExecutionResult, time_scale_from_env
from offline_aws.glue_runner import GLUE_FAULTS
from offline_pipeline.rapidapi_standin import Api, ScriptedResponse
from offline_pipeline.report import ExecutionRun, HistoryTracker, SnsObserver, error_message, summarize
from offline_pipeline.stack import (
    PROJECT_DIR,
    SECRET_STATES,
    STATE_MACHINE,
    TEMPLATE,
    OfflinePipeline,
    SecretState,
    offline_pipeline,
)

DEFAULT_INPUTS = (
    PROJECT_DIR / "events/execution_etl_watchlist.json",
    PROJECT_DIR / "events/execution_streaming_countries.json",
)
POLL_SECONDS = 0.2
# Step Functions Local's mock config for the state machine, its test cases keyed by the logical ID.
MOCK_CONFIG = PROJECT_DIR / "statemachine" / "mock_config.json"
GLUE = "glue"

EXIT_FAILED = 1
EXIT_USAGE = 2

APIS: tuple[Api, ...] = ("alpha-vantage", "streaming-availability")
# Answers past the fetch functions' 10 s read timeout (UPSTREAM_READ_TIMEOUT_SECONDS).
TIMEOUT_DELAY_SECONDS = 11.0
MAX_REPEAT = 20
MAX_SLOW_GLUE_SECONDS = 3600
_REFERENCE_ERROR_BODIES = {
    401: "rapidapi_401_invalid_key",
    403: "rapidapi_403_not_subscribed",
    429: "rapidapi_429_quota",
}
_HTTP_200_BODIES = {
    "limit": "http_200_information_rate_limit",
    "minute-limit": "http_200_note_legacy_rate_limit",
    "error-message": "http_200_error_message",
}

FAULT_HELP = f"""\
faults (--fault API[:ITEM]=WHAT[xN], repeatable):
  API    alpha-vantage (ETL fetch) or streaming-availability (streaming fetch)
  ITEM   only the calls for this symbol or country code (alpha-vantage:AAPL=401): one item of a
         watchlist fails, the others are fetched
  WHAT   an HTTP status, 400-599: 401, 403 and 429 carry RapidAPI's reference bodies
           (UpstreamAuthError, UpstreamRateLimitError), 5xx gives UpstreamUnavailableError
         limit          HTTP 200 with Alpha Vantage's daily-quota "Information" body
                          (UpstreamQuotaExhaustedError, not retried; alpha-vantage only)
         minute-limit   HTTP 200 with Alpha Vantage's per-minute "Note" body (UpstreamRateLimitError,
                          retried; alpha-vantage only)
         error-message  HTTP 200 with Alpha Vantage's "Error Message" body (alpha-vantage only)
         malformed      HTTP 200 with a body that is not JSON
         cut-off        the normal answer broken off halfway (UpstreamUnavailableError)
         timeout        the answer comes {TIMEOUT_DELAY_SECONDS:.0f} s late, past the functions' read timeout
  xN     play it N times in a row (default once); then normal answers resume.
  glue=fail|timeout  the next Glue run's script exits 1, or runs past the job's timeout (the run is
         stopped at once and reported TIMEOUT); with xN, the next N runs.
  glue=slow:SECONDS  every Glue run lasts at least SECONDS (real Glue runs take minutes): with
         --parallel, overlapping executions queue for the job's one run at a time as on AWS.
  Scripted answers are used in order by whichever execution calls that API first. The fetch tasks
  retry 429, minute-limit, 5xx and timeouts 3 times, so e.g. alpha-vantage=429 recovers and
  streaming-availability=500x4 fails; 401/403, limit, error-message and malformed are never retried.

examples:
  python -m offline_pipeline run
  python -m offline_pipeline run --input events/execution_original.json
  python -m offline_pipeline run --fault alpha-vantage=429 --fault streaming-availability=503x2
  python -m offline_pipeline run --parameter-overrides StockSymbols=AAPL,MSFT CountryCodes=ae,us
  python -m offline_pipeline run --parallel --fault glue=slow:20 --input a.json --input b.json
  python -m offline_pipeline invoke FetchStockDataFunction --event events/fetch_stock_data.json

environment:
  OFFLINE_TIME_SCALE  factor on Wait and Retry delays (default 0.01; 1 = real time)"""


# ---------------------------------------------------------------- output


class Console:
    """Writes lines, replacing every registered secret (the stand-in's key) before anything is shown."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self._out = out or sys.stdout
        self._err = err or sys.stderr
        self._secrets: list[str] = []

    def hide(self, secret: str) -> None:
        if secret:
            self._secrets.append(secret)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def out(self, text: str = "") -> None:
        print(self.redact(text), file=self._out, flush=True)

    def err(self, text: str = "") -> None:
        print(self.redact(text), file=self._err, flush=True)


class UsageError(Exception):
    pass


# ---------------------------------------------------------------- arguments


@dataclass(frozen=True)
class Fault:
    api: Api | None  # None: a Glue fault
    responses: tuple[ScriptedResponse, ...]
    text: str
    glue_faults: tuple[str, ...] = ()
    glue_minimum_seconds: float | None = None  # glue=slow:SECONDS
    target: str | None = None  # API:SYMBOL=... or API:COUNTRY=...: only that item's calls


def parse_fault(text: str) -> Fault:
    api, sep, what = text.partition("=")
    api, item, target = api.partition(":")
    if item and (api not in APIS or not re.fullmatch(r"[A-Za-z0-9.-]{1,10}", target)):
        raise argparse.ArgumentTypeError(
            f"{text!r}: API:TARGET=WHAT takes a symbol (alpha-vantage) or country code"
            " (streaming-availability) as TARGET"
        )
    if not sep or api not in (*APIS, GLUE):
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected API=WHAT[xN] with API one of {', '.join((*APIS, GLUE))}"
        )
    if api == GLUE and what.strip().lower().startswith("slow:"):
        seconds = what.strip()[len("slow:") :]
        if not re.fullmatch(r"\d+(\.\d+)?", seconds) or float(seconds) > MAX_SLOW_GLUE_SECONDS:
            raise argparse.ArgumentTypeError(
                f"{text!r}: expected glue=slow:SECONDS, SECONDS a number up to {MAX_SLOW_GLUE_SECONDS}"
            )
        return Fault(None, (), text, glue_minimum_seconds=float(seconds))
    match = re.fullmatch(r"([a-z0-9-]+?)(?:x(\d+))?", what.strip().lower())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r}: expected API=WHAT[xN], e.g. alpha-vantage=429x2")
    kind, repeat = match.group(1), int(match.group(2) or 1)
    if not 1 <= repeat <= MAX_REPEAT:
        raise argparse.ArgumentTypeError(f"{text!r}: N must be 1 to {MAX_REPEAT}")
    if api == GLUE:
        if kind not in GLUE_FAULTS:
            raise argparse.ArgumentTypeError(f"{text!r}: a Glue fault is {' or '.join(GLUE_FAULTS)}")
        return Fault(None, (), text, (kind,) * repeat)
    checked = cast(Api, api)
    return Fault(checked, (_scripted_response(checked, kind, text),) * repeat, text, target=target or None)


def _scripted_response(api: Api, kind: str, text: str) -> ScriptedResponse:
    if kind.isdigit():
        status = int(kind)
        if not 400 <= status <= 599:
            raise argparse.ArgumentTypeError(f"{text!r}: an HTTP status must be 400-599")
        if status in _REFERENCE_ERROR_BODIES:
            return ScriptedResponse.error(status, _REFERENCE_ERROR_BODIES[status])
        if status == 404 and api == "streaming-availability":
            return ScriptedResponse.error(404, "streaming_availability_404")
        return ScriptedResponse.status_only(status)
    if kind in _HTTP_200_BODIES:
        if api != "alpha-vantage":
            raise argparse.ArgumentTypeError(
                f"{text!r}: {kind} is an Alpha Vantage answer (alpha-vantage=...)"
            )
        return ScriptedResponse.http_200_error(_HTTP_200_BODIES[kind])
    if kind == "malformed":
        return ScriptedResponse.malformed()
    if kind == "cut-off":
        return ScriptedResponse.cut_off()
    if kind == "timeout":
        return ScriptedResponse.slow(TIMEOUT_DELAY_SECONDS)
    raise argparse.ArgumentTypeError(
        f"{text!r}: unknown fault {kind!r}; use an HTTP status, limit, minute-limit, error-message,"
        " malformed, cut-off or timeout"
    )


def parse_parameters(items: Sequence[str]) -> dict[str, str]:
    """`Key=Value` pairs as `sam deploy --parameter-overrides` takes them (also several in one string)."""
    parameters: dict[str, str] = {}
    for item in (token for chunk in items for token in chunk.split()):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--parameter-overrides: expected Key=Value, got {item!r}")
        parameters[key] = value
    return parameters


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m offline_pipeline",
        description="Run this SAM application offline: the real state machine definition, handler code and "
        "Glue script on an embedded AWS emulation (moto). No AWS account, Docker or network needed.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{run,invoke}")

    run = commands.add_parser(
        "run",
        help="deploy template.yaml offline and run the ETL and the streaming workflow",
        description="Deploy template.yaml into the emulation and run executions of the state machine: "
        "by default events/execution_etl_watchlist.json (five symbols) and"
        " events/execution_streaming_countries.json (three countries). Shows each state as it happens and"
        " ends with a summary per execution. Exit status 1 when any execution fails.",
        epilog=FAULT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "--input",
        dest="inputs",
        action="append",
        type=Path,
        metavar="FILE",
        help="execution input (JSON) to run instead of the defaults; repeat for several, run in order"
        " (or all at once with --parallel)",
    )
    run.add_argument(
        "--parallel",
        action="store_true",
        help="start every input's execution at once, as a backfill does, instead of one after another",
    )
    run.add_argument(
        "--name",
        dest="names",
        action="append",
        metavar="NAME",
        help="execution name, as for start-execution --name; repeat once per --input, in the same order"
        " (default: the input file's name and a random suffix); a name starting with '-' as --name=-x",
    )
    _common_arguments(run)
    run.add_argument(
        "--test-case",
        metavar="NAME",
        help=f"run each execution as this test case of {MOCK_CONFIG.relative_to(PROJECT_DIR)}"
        " (Step Functions Local's mock config: the named states answer as mocked)",
    )
    run.add_argument(
        "--verbose", action="store_true", help="also print every history event and each execution's output"
    )

    invoke = commands.add_parser(
        "invoke",
        help="offline counterpart of `sam local invoke`: one function, one event",
        description="Deploy template.yaml into the emulation and invoke one function through the emulated "
        "Lambda API: its real handler runs in a subprocess. The payload (or the error) goes to stdout as "
        "JSON, the function's logs to stderr. Exit status 1 when the function fails.",
        epilog=FAULT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    invoke.add_argument("function", metavar="FUNCTION_LOGICAL_ID", help="e.g. FetchStockDataFunction")
    invoke.add_argument(
        "--event",
        "-e",
        required=True,
        metavar="FILE",
        help="event JSON file, e.g. events/fetch_stock_data.json",
    )
    _common_arguments(invoke)
    return parser


def _common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--parameter-overrides",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="template parameters, as for sam deploy, e.g. StockSymbols=AAPL,MSFT",
    )
    parser.add_argument(
        "--secret",
        choices=sorted(SECRET_STATES),
        help="the RapidAPI key secret without a value, blank, or holding the placeholder YOUR_KEY"
        " (default: the stand-in's key)",
    )
    parser.add_argument(
        "--fault",
        dest="faults",
        action="append",
        type=parse_fault,
        default=[],
        metavar="API[:ITEM]=WHAT[xN]",
        help="script a RapidAPI stand-in answer (see below)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console()
    try:
        if args.command == "run":
            return run_command(args, console)
        return invoke_command(args, console)
    except UsageError as error:
        console.err(f"error: {error}")
        return EXIT_USAGE
    except DeployError as error:
        console.err(f"error: template.yaml cannot be deployed offline: {error}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        console.err("interrupted; the emulation and its subprocesses were stopped")
        return 130


# ---------------------------------------------------------------- the offline stack


@contextmanager
def offline_stack(
    console: Console,
    parameter_overrides: dict[str, str],
    faults: Sequence[Fault],
    say: Callable[[str], None],
    secret: SecretState | None = None,
) -> Iterator[OfflinePipeline]:
    """The project's offline pipeline (offline_pipeline.stack), the key hidden, the faults scripted."""
    started = time.monotonic()
    say(f"Starting the AWS emulation (moto {version('moto')}) and the RapidAPI stand-in, and deploying")
    say("template.yaml into it (functions, layer, secret, bucket, stream, topic, Glue job ...)")
    with offline_pipeline(parameter_overrides=parameter_overrides, secret=secret) as pipeline:
        console.hide(pipeline.standin.api_key)
        held = (
            f"the secret is {secret}" if secret else "the secret holds the stand-in's random key (not shown)"
        )
        say(
            f"  stack {pipeline.stack.stack_name}: {len(pipeline.stack.resources)} resources deployed"
            f" ({time.monotonic() - started:.1f} s); {held}"
        )
        for fault in faults:
            if fault.glue_minimum_seconds is not None:
                pipeline.emulation.require_glue_runner().slow_down(fault.glue_minimum_seconds)
            elif fault.api is None:
                pipeline.emulation.require_glue_runner().script_faults(*fault.glue_faults)
            else:
                pipeline.standin.script(fault.api, *fault.responses, target=fault.target)
            say(f"  fault scripted: {fault.text}")
        yield pipeline


def _read_json(path: Path, what: str) -> Any:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text()
    except OSError as error:
        raise UsageError(f"{what} {path}: {error.strerror or error}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"{what} {path} is not JSON: {error}") from None


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------- run


def run_command(args: argparse.Namespace, console: Console) -> int:
    parameters = parse_parameters(args.parameter_overrides)
    paths: list[Path] = args.inputs or list(DEFAULT_INPUTS)
    inputs = [(path, _read_json(path, "input file")) for path in paths]
    names: list[str] = args.names or [_execution_name(path) for path in paths]
    if len(names) != len(paths):
        raise UsageError(f"--name given {len(names)} times for {len(paths)} inputs; give one per --input")
    if args.test_case:
        _mock_config_with(args.test_case)  # refused before anything starts

    say = console.out
    say("Offline run: the state machine, handlers and Glue script of this project on an embedded AWS")
    say("emulation. No AWS account, Docker or network is used; RapidAPI is a local stand-in.")
    if shutil.which("java") is None:
        say("Warning: no Java found; the ETL workflow's Glue step needs Java 17 for Spark (`make java`).")
    say(f"Wait and Retry delays run at {time_scale_from_env()}x real time (OFFLINE_TIME_SCALE).")
    say()
    runs: list[ExecutionRun] = []
    refused: list[str] = []
    with offline_stack(console, parameters, args.faults, say, args.secret) as pipeline:
        emulation = pipeline.emulation
        observer = SnsObserver(emulation)
        if args.test_case:
            _load_test_case(pipeline, args.test_case)
            say(f"  test case {args.test_case} of {_shown(MOCK_CONFIG)}")
        started: list[tuple[int, Path, str]] = []
        for number, ((path, document), name) in enumerate(zip(inputs, names, strict=True), start=1):
            observer.subscribe_to_existing_topics()
            say()
            say(f"[{number}/{len(inputs)}] {_shown(path)} -> execution {name}")
            try:
                # As JSON text: any JSON value is an input (a bare string or null too), as on AWS.
                arn = emulation.start_execution(
                    pipeline.state_machine_arn, json.dumps(document), name=name, test_case=args.test_case
                )
            except ClientError as error:
                refused.append(_shown(path))
                console.err(f"error: StartExecution refused {_shown(path)}: {_client_error(error)}")
                continue
            if args.parallel:
                started.append((number, path, arn))
                continue
            say(f"  {'entered':>7} {'state':<28} {'type':<8}{'took':>8}")
            tracker = HistoryTracker(console.out, verbose=args.verbose)
            runs.append(_finished(pipeline, path, watch(emulation, arn, tracker), tracker, observer, say))
            if args.verbose:
                say(f"  output: {json.dumps(runs[-1].result.output, indent=2)}")
        if started:
            say()
            say(f"{len(started)} executions started at once; each line is marked with its number")
            trackers = {
                arn: HistoryTracker(_marked(console.out, number), verbose=args.verbose)
                for number, _, arn in started
            }
            results = watch_all(emulation, trackers)
            for _, path, arn in started:
                runs.append(_finished(pipeline, path, results[arn], trackers[arn], observer, say))
        say()
        say("Summary")
        say("=======")
        for run in runs:
            say()
            for line in summarize(run, observer):
                say(line)
    failed = [run for run in runs if not run.result.succeeded]
    say()
    say(f"{len(runs) - len(failed)} of {len(runs)} executions succeeded.")
    if refused:
        say(f"{len(refused)} input(s) refused before an execution started: {', '.join(refused)}")
        return EXIT_USAGE
    return EXIT_FAILED if failed else 0


def _finished(
    pipeline: OfflinePipeline,
    path: Path,
    result: ExecutionResult,
    tracker: HistoryTracker,
    observer: SnsObserver,
    say: Callable[[str], None],
) -> ExecutionRun:
    observer.drain()
    run = ExecutionRun(_shown(path), result, tracker, pipeline)
    wall = run.wall_seconds
    say(f"  {result.name}: {result.status}" + (f" in {wall:.1f} s" if wall is not None else ""))
    return run


def _marked(emit: Callable[[str], None], number: int) -> Callable[[str], None]:
    return lambda line: emit(f"[{number}]{line}")


def _client_error(error: ClientError) -> str:
    """AWS's error code and message on one line, as the AWS CLI shows a refused request."""
    details = error.response.get("Error", {})
    message = " ".join(str(details.get("Message", "")).split())
    return f"{details.get('Code', 'Unknown')}: {message}"


def _mock_config_with(test_case: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The repository's mock config and its test cases; a test case it lacks is a usage error."""
    config = _read_json(MOCK_CONFIG, "mock config")
    cases = config.get("StateMachines", {}).get(STATE_MACHINE, {}).get("TestCases", {})
    if test_case not in cases:
        raise UsageError(
            f"no test case {test_case!r} in {_shown(MOCK_CONFIG)}; it has {', '.join(sorted(cases))}"
        )
    return config, cases


def _load_test_case(pipeline: OfflinePipeline, test_case: str) -> None:
    """The mock config's test cases, put under the deployed state machine's name."""
    config, cases = _mock_config_with(test_case)
    pipeline.emulation.load_mock_config(
        {**config, "StateMachines": {pipeline.state_machine_name: {"TestCases": cases}}}
    )


def _execution_name(path: Path) -> str:
    label = re.sub(r"[^A-Za-z0-9_-]+", "-", path.stem.removeprefix("execution_")).strip("-") or "run"
    return f"{label[:60]}-{uuid.uuid4().hex[:8]}"


def watch(emulation: Emulation, execution_arn: str, tracker: HistoryTracker) -> ExecutionResult:
    """Poll the history while the execution runs, so each state shows as it happens."""
    return watch_all(emulation, {execution_arn: tracker})[execution_arn]


def watch_all(emulation: Emulation, trackers: Mapping[str, HistoryTracker]) -> dict[str, ExecutionResult]:
    """Poll the histories of executions running side by side until each has ended."""
    sfn = emulation.client("stepfunctions")
    running = set(trackers)
    while running:
        for arn in sorted(running):
            status = sfn.describe_execution(executionArn=arn)["status"]
            trackers[arn].feed(emulation.history(arn))
            if status in TERMINAL_STATUSES:
                running.discard(arn)
        if running:
            time.sleep(POLL_SECONDS)
    results = {arn: emulation.wait_for_execution(arn) for arn in trackers}
    for arn, result in results.items():
        trackers[arn].feed(result.history)
    return results


# ---------------------------------------------------------------- invoke


def invoke_command(args: argparse.Namespace, console: Console) -> int:
    parameters = parse_parameters(args.parameter_overrides)
    try:
        resources = load_template(TEMPLATE).get("Resources", {})
    except TemplateError as error:
        raise UsageError(f"template.yaml: {error}") from None
    functions = sorted(
        lid for lid, spec in resources.items() if spec.get("Type") == "AWS::Serverless::Function"
    )
    if args.function not in functions:
        raise UsageError(
            f"{args.function} is not a function of template.yaml; choose one of {', '.join(functions)}"
        )
    event = _read_json(Path(args.event), "event file")

    with offline_stack(console, parameters, args.faults, console.err, args.secret) as pipeline:
        function_name = pipeline.stack.ref(args.function)
        console.err(f"Invoking {args.function} ({function_name}) with {args.event} ...")
        response = pipeline.emulation.client("lambda").invoke(
            FunctionName=function_name, Payload=json.dumps(event).encode(), LogType="Tail"
        )
        payload_text = response["Payload"].read().decode("utf-8", "replace")
        logs = base64.b64decode(response.get("LogResult", "")).decode("utf-8", "replace")

    if logs:
        console.err("---- function logs ----")
        for line in logs.rstrip("\n").splitlines():
            console.err(line)
        console.err("-----------------------")
    payload = _json_or_text(payload_text)
    if response.get("FunctionError"):
        document = payload if isinstance(payload, dict) else {"errorMessage": payload_text}
        shown = {key: document[key] for key in ("errorType", "errorMessage") if key in document}
        console.out(json.dumps(shown or document, indent=2))
        console.err(
            f"{args.function} failed: {document.get('errorType', response['FunctionError'])}:"
            f" {error_message(json.dumps(document))}"
        )
        return EXIT_FAILED
    console.out(json.dumps(payload, indent=2))
    return 0


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
