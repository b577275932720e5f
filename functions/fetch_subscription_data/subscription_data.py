"""Fetching one country's OTT streaming services from Streaming Availability (v4, through RapidAPI)."""

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from execution_input.rules import COUNTRY, normalise_country
from rapidapi import (
    STREAMING_AVAILABILITY,
    InvalidInputError,
    get_json,
    reject_response,
    summarise,
)


class FetchSubscriptionDataEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    country: str = Field(description=COUNTRY.description)
    executionId: str | None = Field(None, description="the Step Functions execution ARN, or none")

    @field_validator("country")
    @classmethod
    def lower_case(cls, country: str) -> str:
        return normalise_country(country)


class StreamingOptionTypes(BaseModel):
    addon: bool = False
    buy: bool = False
    rent: bool = False
    free: bool = False
    subscription: bool = False


class Addon(BaseModel):
    id: str
    name: str


class StreamingService(BaseModel):
    id: str
    name: str
    homePage: str
    streamingOptionTypes: StreamingOptionTypes
    addons: list[Addon] = []


class CountryServices(BaseModel):
    countryCode: str
    name: str
    services: list[StreamingService]


class SubscriptionData(BaseModel):
    country: str
    countryName: str
    serviceCount: int
    fetchedAt: str
    services: list[StreamingService]


def parse_country_response(body: Any, fetched_at: datetime) -> SubscriptionData:
    try:
        country = CountryServices.model_validate(body)
    except ValidationError as error:
        raise reject_response(
            STREAMING_AVAILABILITY,
            f"Streaming Availability answer has an unexpected shape: {summarise(error)}",
        ) from None
    return SubscriptionData(
        country=country.countryCode,
        countryName=country.name,
        serviceCount=len(country.services),
        fetchedAt=fetched_at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        services=country.services,
    )


def fetch_subscription_data(event: FetchSubscriptionDataEvent) -> dict[str, Any]:
    body = get_json(
        STREAMING_AVAILABILITY,
        f"/countries/{event.country}",
        on_not_found=lambda: InvalidInputError(
            f"Field 'country': '{event.country}' is not a country Streaming Availability knows."
        ),
    )
    return parse_country_response(body, datetime.now(UTC)).model_dump()
