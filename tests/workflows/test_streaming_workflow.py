"""The streaming workflow end to end on the emulation, and its exists / missing branches for stream and topic.

Records are read back from Kinesis by shard id and sequence number; SNS deliveries are observed through
an SQS queue subscribed to the topic, as any subscriber would receive them.
"""

import json

import pytest
from emulation_helpers import (
    SqsObserver,
    kinesis_record,
    kinesis_record_count,
    stream_names,
    subscriptions,
    topic_arns,
    unique,
)
from pipeline_helpers import load_event, reference

STREAMING_PATH = [
    "ValidateExecutionInput",
    "RouteByRequestedWorkflow",
    "ListStreams",
    "CheckStreamListed",
    "ChooseStreamLookup",
    "FetchSubscriptionDataForCountries",
    # The one country, in its Map iteration.
    "WaitForSubscriptionFetchSlot",
    "FetchSubscriptionData",
    "ChooseStreamAction",
    "DescribeStream",
    "ChooseStreamReadiness",
    "PutSubscriptionRecord",
    "RecordCountryWritten",
    "CheckCountryWriteOutcomes",
    "ChooseCountryWriteFailureCount",
    "RecordNoCountryWriteFailures",
    "ListWrittenRecords",
    "ListTopics",
    "CheckTopicListed",
    "ChooseTopicAction",
]
TAIL = [
    "PublishRecordNotification",
    "ChooseStreamingOutcome",
    "SummarizeStreamingRun",
    "StreamingWorkflowSucceeded",
]


def succeeded(result):
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    return result


def the_record(result) -> dict:
    (record,) = result.output["records"]
    return record


def assert_record_written(pipeline, result, stream: str) -> None:
    """The record named by the output is in the stream and holds the country's services."""
    output = the_record(result)
    record = kinesis_record(pipeline.emulation, stream, output["shardId"], output["sequenceNumber"])
    assert record["PartitionKey"] == "ae"
    document = record["Data"]
    expected = reference("streaming_availability_country_ae.json")
    assert (document["country"], document["countryName"]) == ("ae", expected["name"])
    assert [(s["id"], s["name"]) for s in document["services"]] == [
        (s["id"], s["name"]) for s in expected["services"]
    ]
    assert document["serviceCount"] == len(expected["services"]) == output["serviceCount"]


def assert_record_announced(notifications, result) -> None:
    """One message on the topic, carrying the record's shard id and sequence number."""
    output = the_record(result)
    (message,) = notifications
    assert message.topic_arn == result.output["topicArn"]
    # String.Array attributes: one entry per country written, in the same order.
    assert message.attributes == {
        "Countries": json.dumps(["ae"]),
        "ShardId": json.dumps([output["shardId"]]),
        "SequenceNumber": json.dumps([output["sequenceNumber"]]),
    }
    assert message.subject == "Subscription data written to Kinesis: 1 of 1 countries"
    records = json.dumps([output], separators=(",", ":"))
    assert f"Records (country, services, shard id, sequence number): {records}." in message.message


@pytest.fixture(scope="module")
def streaming_run(pipeline_stack):
    """events/execution_streaming.json: the stack's own stream and topic, which exist."""
    pipeline = pipeline_stack.fresh()
    event = load_event("execution_streaming.json")
    result = succeeded(pipeline.run(event))
    return event, result, pipeline.requests("streaming-availability"), pipeline.requests("alpha-vantage")


def test_the_streaming_event_uses_the_stacks_stream_and_topic(pipeline, streaming_run) -> None:
    _, result, streaming_requests, alpha_vantage_requests = streaming_run
    # The stack's topic exists: it is published to, not created, and nobody is subscribed by the run.
    assert result.states_entered() == STREAMING_PATH + TAIL
    assert (streaming_requests, alpha_vantage_requests) == (1, 0)
    output = result.output
    assert output["workflow"] == "streaming"
    assert (output["countries"], output["fetchFailures"]) == (["ae"], [])
    assert (output["streamName"], output["topicArn"]) == (pipeline.stream, pipeline.topic_arn)


def test_the_record_read_back_from_kinesis_holds_the_countrys_services(pipeline, streaming_run) -> None:
    _, result, *_ = streaming_run
    assert_record_written(pipeline, result, pipeline.stream)


def test_the_sns_message_carries_the_shard_id_and_sequence_number(pipeline, streaming_run) -> None:
    _, result, *_ = streaming_run
    notifications = pipeline.notifications.for_execution(result.execution_arn)
    assert_record_announced(notifications, result)
    assert result.output["notificationMessageId"]


# ---------------------------------------------------------------- stream branches


def test_a_missing_stream_is_created_then_written(pipeline) -> None:
    stream = unique("new-stream")
    assert stream not in stream_names(pipeline.emulation)
    result = succeeded(pipeline.run({"workflow": "streaming", "streamName": stream, "email": ""}))

    entered = result.states_entered()
    assert entered[entered.index("ChooseStreamAction") :][:4] == [
        "ChooseStreamAction",
        "CreateStream",
        "DescribeStream",
        "ChooseStreamReadiness",
    ]
    assert stream in stream_names(pipeline.emulation)
    assert_record_written(pipeline, result, stream)


def test_a_pre_created_stream_is_written_not_created(pipeline) -> None:
    stream = unique("own-stream")
    pipeline.emulation.client("kinesis").create_stream(StreamName=stream, ShardCount=1)
    result = succeeded(pipeline.run({"workflow": "streaming", "streamName": stream, "email": ""}))

    assert "CreateStream" not in result.states_entered()
    assert_record_written(pipeline, result, stream)
    assert kinesis_record_count(pipeline.emulation, stream) == 1


# ---------------------------------------------------------------- topic and subscription branches


def test_a_missing_topic_is_created_encrypted_and_the_address_subscribed(pipeline) -> None:
    topic, email = unique("new-topic"), f"{unique('reader')}@example.com"
    topic_arn = pipeline.topic_arn_for(topic)
    assert topic_arn not in topic_arns(pipeline.emulation)
    result = succeeded(pipeline.run({"workflow": "streaming", "topicName": topic, "email": email}))

    entered = result.states_entered()
    assert {"CreateTopic", "SubscribeEmailToTopic"} <= set(entered)
    assert entered.index("CreateTopic") < entered.index("SubscribeEmailToTopic")
    assert result.output["topicArn"] == topic_arn
    attributes = pipeline.emulation.client("sns").get_topic_attributes(TopicArn=topic_arn)["Attributes"]
    assert attributes["KmsMasterKeyId"] == pipeline.stack.attribute("NotificationKey", "Arn")
    assert subscriptions(pipeline.emulation, topic_arn) == [("email", email)]


def test_an_existing_topic_is_published_to_and_its_subscriptions_left_alone(pipeline) -> None:
    # As the workflow was specified: the address is subscribed when the topic is created, not otherwise.
    sns = pipeline.emulation.client("sns")
    topic = unique("own-topic")
    topic_arn = sns.create_topic(Name=topic)["TopicArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="email", Endpoint="existing@example.com")
    observer = SqsObserver(pipeline.emulation, topic_arn)
    email = f"{unique('reader')}@example.com"
    result = succeeded(pipeline.run({"workflow": "streaming", "topicName": topic, "email": email}))

    assert result.states_entered() == STREAMING_PATH + TAIL
    assert ("email", email) not in subscriptions(pipeline.emulation, topic_arn)
    assert ("email", "existing@example.com") in subscriptions(pipeline.emulation, topic_arn)
    assert_record_announced(observer.for_execution(result.execution_arn), result)


def test_an_empty_address_subscribes_nobody(pipeline) -> None:
    topic = unique("new-topic")
    result = succeeded(pipeline.run({"workflow": "streaming", "topicName": topic, "email": ""}))

    entered = result.states_entered()
    assert entered[entered.index("ChooseEmailSubscription") :] == ["ChooseEmailSubscription", *TAIL]
    assert subscriptions(pipeline.emulation, pipeline.topic_arn_for(topic)) == []


def test_a_second_run_with_the_same_names_creates_and_subscribes_nothing_again(pipeline) -> None:
    stream, topic = unique("repeat-stream"), unique("repeat-topic")
    email = f"{unique('reader')}@example.com"
    execution_input = {"workflow": "streaming", "streamName": stream, "topicName": topic, "email": email}
    first = succeeded(pipeline.run(execution_input))
    second = succeeded(pipeline.run(execution_input))

    assert {"CreateStream", "CreateTopic", "SubscribeEmailToTopic"} <= set(first.states_entered())
    assert second.states_entered() == STREAMING_PATH + TAIL
    assert subscriptions(pipeline.emulation, pipeline.topic_arn_for(topic)) == [("email", email)]
    # Each run wrote its own record.
    assert kinesis_record_count(pipeline.emulation, stream) == 2
    assert the_record(first)["sequenceNumber"] != the_record(second)["sequenceNumber"]
    assert_record_written(pipeline, second, stream)
