"""ValidateExecutionInputFunction: first in every execution, before anything is fetched or written."""

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from execution_input import StackBounds, validate_execution_input

logger = Logger()
BOUNDS = StackBounds.from_environment(os.environ)


@logger.inject_lambda_context(correlation_id_path="executionId")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The state machine passes the execution input whole, as {"input": <any JSON value>}.
    request = validate_execution_input(event.get("input"), BOUNDS)
    logger.info("Execution input accepted", extra={"workflow": request.workflow})
    return request.model_dump()
