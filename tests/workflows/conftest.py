"""Fixtures for the workflow tests: this project deployed into the session's emulation.

The tests share one deployment of template.yaml (`pipeline_stack`, session-wide) and the RapidAPI
stand-in; the `pipeline` fixture hands it to a test with the stand-in's scripts and recorded requests
cleared.
"""

from collections.abc import Iterator

import pytest
from pipeline_helpers import WIDENED_TO_ANY_NAME, Pipeline, observed_pipeline

from offline_aws.emulation import Emulation
from offline_pipeline.rapidapi_standin import RapidApiStandIn


@pytest.fixture(scope="session")
def rapidapi_standin() -> Iterator[RapidApiStandIn]:
    with RapidApiStandIn() as standin:
        yield standin


@pytest.fixture(scope="session")
def pipeline_stack(emulation: Emulation, rapidapi_standin: RapidApiStandIn) -> Pipeline:
    """template.yaml with its default Glue job name (StockDataETLJOB, which the original input names), the
    secret holding the stand-in's key, and an SQS observer on the notification topic.

    The branch tests name fresh buckets, streams and topics, so this stack is widened to any name (the
    README's documented override); `default_stack` in test_input_validation.py keeps the defaults."""
    return observed_pipeline(emulation, rapidapi_standin, overrides=WIDENED_TO_ANY_NAME, own_glue_job=False)


@pytest.fixture
def pipeline(pipeline_stack: Pipeline) -> Iterator[Pipeline]:
    yield pipeline_stack.fresh()
    pipeline_stack.standin.reset()
