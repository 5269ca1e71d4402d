"""Shared plumbing of the SDK client checks: the command line, the tools offered, and a runner that
records each named check as PASS or FAIL and exits non-zero when any failed.

Every check prints one line, `PASS <name>` or `FAIL <name>: <why>`, and the run ends with
`sdk-summary: <passed> passed, <failed> failed` (the xtask reads these lines).
"""

import argparse
import json
import os
import sys
import traceback

# The canned backend always calls this tool with these arguments (see xtask/src/canned_backend.rs).
CANNED_TOOL = "get_weather"
CANNED_ARGUMENTS = {"city": "Paris"}
CANNED_TEXT = "Hello from the canned backend."

WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "City name"}},
    "required": ["city"],
}
TIME_SCHEMA = {
    "type": "object",
    "properties": {"timezone": {"type": "string", "description": "IANA time zone"}},
    "required": ["timezone"],
}
# (name, description, JSON schema) of every tool the checks offer.
TOOLS = [
    ("get_weather", "Current weather in a city.", WEATHER_SCHEMA),
    ("get_time", "Current time in a time zone.", TIME_SCHEMA),
]
TOOL_NAMES = {name for name, _, _ in TOOLS}


class CheckFailed(Exception):
    """A check's expectation did not hold."""


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def expect_json_object(text, what):
    """`text` must be a JSON object; returns it decoded."""
    expect(isinstance(text, str), f"{what} is {type(text).__name__}, not a JSON string")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise CheckFailed(f"{what} is not JSON ({error}): {text!r}") from error
    expect(isinstance(value, dict), f"{what} is JSON but not an object: {text!r}")
    return value


def parse_arguments(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--base-url",
        default=os.environ.get("FORGE_SDK_BASE_URL"),
        help="the proxy's root URL, e.g. http://127.0.0.1:8081 (env FORGE_SDK_BASE_URL)",
    )
    parser.add_argument(
        "--backend",
        choices=["canned", "real"],
        required=True,
        help="canned: the deterministic canned backend (exact answers checked); "
        "real: a real model (only shapes checked)",
    )
    parser.add_argument("--model", default="forge-sdk-check", help="the model name sent")
    arguments = parser.parse_args()
    if not arguments.base_url:
        parser.error("--base-url (or FORGE_SDK_BASE_URL) is required")
    arguments.base_url = arguments.base_url.rstrip("/")
    return arguments


class Checks:
    """Runs named checks, printing one line each, and exits with the overall result."""

    def __init__(self, client_name):
        self.client_name = client_name
        self.passed = 0
        self.failed = 0

    def run(self, name, check):
        label = f"{self.client_name}: {name}"
        try:
            check()
        except CheckFailed as failure:
            self.failed += 1
            print(f"FAIL {label}: {failure}", flush=True)
        except Exception as error:  # an SDK error is a failure of this check, not of the run
            self.failed += 1
            detail = traceback.format_exc(limit=3).strip().replace("\n", "\n    ")
            print(f"FAIL {label}: {type(error).__name__}: {error}\n    {detail}", flush=True)
        else:
            self.passed += 1
            print(f"PASS {label}", flush=True)

    def finish(self):
        print(f"sdk-summary: {self.passed} passed, {self.failed} failed", flush=True)
        sys.exit(1 if self.failed else 0)
