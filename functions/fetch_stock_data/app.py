"""FetchStockDataFunction: 1-minute bars of one symbol, for the ETL workflow."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from rapidapi import parse_event
from stock_data import FetchStockDataEvent, fetch_stock_data

logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path="executionId")
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse_event(FetchStockDataEvent, event)
    result = fetch_stock_data(request)
    metrics.add_metric(name="BarsFetched", unit=MetricUnit.Count, value=result["metadata"]["barCount"])
    logger.info(
        "Fetched stock data", extra={"symbol": request.symbol, "bars": result["metadata"]["barCount"]}
    )
    return result
