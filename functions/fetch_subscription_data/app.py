"""FetchSubscriptionDataFunction: one country's OTT streaming services, for the streaming workflow."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from rapidapi import parse_event
from subscription_data import FetchSubscriptionDataEvent, fetch_subscription_data

logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path="executionId")
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse_event(FetchSubscriptionDataEvent, event)
    result = fetch_subscription_data(request)
    metrics.add_metric(name="ServicesFetched", unit=MetricUnit.Count, value=result["serviceCount"])
    logger.info(
        "Fetched subscription data", extra={"country": request.country, "services": result["serviceCount"]}
    )
    return result
