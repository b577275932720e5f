"""AWS's naming rules for what an execution input names, and this project's own formats: the one owner.

The template's AllowedPatterns and the Glue job's symbol rule are copies of these, tested against them.
Each rule says what it accepts in words, for the error a person reads.
"""

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class NameRule:
    """A name's rule: a full-match pattern, extra checks a pattern cannot say plainly, and the words."""

    what: str
    pattern: str
    description: str
    extra_checks: tuple[Callable[[str], str | None], ...] = ()

    def checked(self, value: str) -> str:
        """`value` when it follows the rule, else ValueError naming the value and the rule."""
        if (problem := self.problem(value)) is not None:
            raise ValueError(f"{value!r:.80} {problem}")
        return value

    def problem(self, value: str) -> str | None:
        """Why `value` breaks the rule (one sentence), or None when it follows it."""
        if not re.fullmatch(self.pattern, value):
            return f"breaks the {self.what} rule: {self.description}"
        for check in self.extra_checks:
            if (reason := check(value)) is not None:
                return f"breaks the {self.what} rule: {reason}"
        return None


def _no_adjacent_periods(name: str) -> str | None:
    return "no two adjacent periods" if ".." in name else None


def _not_an_ip_address(name: str) -> str | None:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return None
    return "not formatted as an IP address"


# S3 reserves these for its own features (access point aliases, Object Lambda, Multi-Region Access Points,
# directory buckets, table buckets, documentation examples).
S3_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
S3_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def _no_reserved_affix(name: str) -> str | None:
    for prefix in S3_RESERVED_PREFIXES:
        if name.startswith(prefix):
            return f"must not start with the reserved prefix '{prefix}'"
    for suffix in S3_RESERVED_SUFFIXES:
        if name.endswith(suffix):
            return f"must not end with the reserved suffix '{suffix}'"
    return None


# Amazon S3 general purpose bucket naming rules.
BUCKET_NAME = NameRule(
    what="S3 bucket-name",
    pattern=r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]",
    description=(
        "3-63 characters of lower-case letters, digits, '.' and '-', beginning and ending with a letter"
        " or digit, no two adjacent periods, not an IP address, no reserved prefix (xn--, sthree-,"
        " amzn-s3-demo-) or suffix (-s3alias, --ol-s3, .mrap, --x-s3, --table-s3)"
    ),
    extra_checks=(_no_adjacent_periods, _not_an_ip_address, _no_reserved_affix),
)
# Kinesis Data Streams StreamName (botocore: pattern [a-zA-Z0-9_.-]+, length 1-128).
STREAM_NAME = NameRule(
    what="Kinesis stream-name",
    pattern=r"[a-zA-Z0-9_.-]{1,128}",
    description="1-128 characters of letters, digits, '_', '.' and '-'",
)
# SNS CreateTopic Name for a standard topic (FIFO topics, ending in .fifo, need a MessageGroupId).
TOPIC_NAME = NameRule(
    what="SNS topic-name",
    pattern=r"[A-Za-z0-9_-]{1,256}",
    description="1-256 characters of ASCII letters, digits, '_' and '-' (a standard topic, not .fifo)",
)
_EMAIL_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_DOMAIN_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL = NameRule(
    what="e-mail address",
    pattern=rf"(?=.{{3,254}}$){_EMAIL_LOCAL}@(?:{_DOMAIN_LABEL}\.)+[A-Za-z]{{2,63}}",
    description=(
        "local-part@domain with a dotted domain ending in a top-level domain of letters, such as"
        " subscriber@example.com, at most 254 characters"
    ),
)
# The ticker as it names S3 partitions (symbol=MSFT): upper case after normalising.
SYMBOL = NameRule(
    what="stock-symbol",
    pattern=r"[A-Z0-9][A-Z0-9.-]{0,9}",
    description="1-10 characters of A-Z, 0-9, '.' and '-', beginning with a letter or digit, such as MSFT",
)
# ISO 3166-1 alpha-2, lower case after normalising, as Streaming Availability names countries.
COUNTRY = NameRule(
    what="country-code",
    pattern=r"[a-z]{2}",
    description="two letters (ISO 3166-1 alpha-2), such as ae",
)


def _ascii_as_given(value: str, rule: NameRule) -> str:
    """`value` when it is ASCII. Checked before case folding, which maps other text into a rule's ASCII:
    'ß'.upper() is 'SS', and the Kelvin sign (U+212A) lower-cases to 'k'."""
    for position, character in enumerate(value, start=1):
        if not character.isascii():
            raise ValueError(
                f"{value!r:.80} breaks the {rule.what} rule: character {position} is not ASCII"
                f" (U+{ord(character):04X}); {rule.description}"
            )
    return value


def normalise_symbol(value: str) -> str:
    """The symbol in upper case, or ValueError naming the rule."""
    return SYMBOL.checked(_ascii_as_given(value, SYMBOL).upper())


def normalise_country(value: str) -> str:
    """The country code in lower case, or ValueError naming the rule."""
    return COUNTRY.checked(_ascii_as_given(value, COUNTRY).lower())


# How many items one execution fetches at most. Inline Map: every iteration's result stays in the
# execution's state, at most 256 KiB, and a failed item's record (its error and the function's message, up
# to about 500 bytes) is held twice while the failures are counted: 200 of them take about 230 KiB with
# the rest of the state. Every iteration's events count against the execution's 25,000 (about 44 a symbol
# at worst, retries and the pending copies included). Streaming Availability covers 60 countries.
MAX_SYMBOLS_PER_EXECUTION = 200
MAX_COUNTRIES_PER_EXECUTION = 60


def comma_separated_list_pattern(rule: NameRule) -> str:
    """A template parameter holding a comma-separated list of names under `rule`, anchored."""
    return f"^{rule.pattern}(,{rule.pattern})*$"


# The bounds States.MathRandom takes: Java integers.
MATH_RANDOM_MIN = -(2**31)
MATH_RANDOM_MAX = 2**31 - 1

# Template parameters that copy a rule. An input-named resource parameter also takes "*" (any name) or
# "" (none besides the stack's own).
TEMPLATE_LIST_PARAMETER_RULES: dict[str, NameRule] = {
    "StockSymbols": SYMBOL,
    "CountryCodes": COUNTRY,
}
INPUT_NAMED_RESOURCE_PARAMETERS: dict[str, NameRule] = {
    "InputBucketName": BUCKET_NAME,
    "InputStreamName": STREAM_NAME,
    "InputTopicName": TOPIC_NAME,
}
ANY_NAME = "*"


def template_allowed_pattern(parameter: str) -> str:
    """The AllowedPattern the template must give `parameter`: the rule's pattern, anchored."""
    if parameter in TEMPLATE_LIST_PARAMETER_RULES:
        return comma_separated_list_pattern(TEMPLATE_LIST_PARAMETER_RULES[parameter])
    if parameter == "NotificationEmail":
        return f"^$|^{EMAIL.pattern}$"
    rule = INPUT_NAMED_RESOURCE_PARAMETERS[parameter]
    return rf"^$|^\{ANY_NAME}$|^{rule.pattern}$"
