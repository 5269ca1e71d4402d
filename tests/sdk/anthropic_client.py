#!/usr/bin/env python3
"""The official `anthropic` Python SDK against forge-proxy's /v1/messages: plain chat and tool use,
streaming and not. Asserts what the SDK parsed (strictly re-validated against the SDK's own models),
the streamed event order, and with `--backend canned` also the exact canned answers.

    python anthropic_client.py --base-url http://127.0.0.1:8081 --backend canned
"""

import anthropic
import pydantic
from anthropic.types import Message, RawMessageStreamEvent

from sdk_checks import (
    CANNED_ARGUMENTS,
    CANNED_TEXT,
    CANNED_TOOL,
    TOOL_NAMES,
    TOOLS,
    CheckFailed,
    Checks,
    expect,
    parse_arguments,
)

STOP_REASONS = {"end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal"}
MAX_TOKENS = 48
ANTHROPIC_TOOLS = [{"name": name, "description": description, "input_schema": schema} for name, description, schema in TOOLS]
CHAT_MESSAGES = [{"role": "user", "content": "Say hello in five words."}]
TOOL_MESSAGES = [{"role": "user", "content": "What is the weather in Paris?"}]
TOOL_SYSTEM = "Use the tools to answer."
EVENT = pydantic.TypeAdapter(RawMessageStreamEvent)


def strict_message(payload, what):
    """The SDK builds responses without validation; re-validate so a wrong literal fails here."""
    try:
        return Message.model_validate(payload)
    except Exception as error:
        raise CheckFailed(f"{what} does not validate as Message: {error}") from error


def strict_event(payload, number):
    try:
        return EVENT.validate_python(payload)
    except Exception as error:
        raise CheckFailed(f"event {number} does not validate as a stream event: {error}: {payload}") from error


def check_message(message, what):
    expect(message.type == "message", f"{what}: type {message.type!r}")
    expect(message.role == "assistant", f"{what}: role {message.role!r}")
    expect(isinstance(message.id, str) and message.id, f"{what}: id {message.id!r}")
    expect(message.stop_reason in STOP_REASONS, f"{what}: stop_reason {message.stop_reason!r}")
    for field in ("input_tokens", "output_tokens"):
        value = getattr(message.usage, field)
        expect(isinstance(value, int) and value >= 0, f"{what}: usage.{field} is {value!r}")


def text_of(message):
    return "".join(block.text for block in message.content if block.type == "text")


def check_chat_message(message, canned, what):
    check_message(message, what)
    expect(message.stop_reason in {"end_turn", "max_tokens"}, f"{what}: stop_reason {message.stop_reason!r} for plain chat")
    expect(all(block.type == "text" for block in message.content), f"{what}: blocks {[b.type for b in message.content]}")
    text = text_of(message)
    if canned:
        expect(text == CANNED_TEXT, f"{what}: text {text!r}")
    else:
        expect(text.strip() or message.stop_reason == "max_tokens", f"{what}: empty answer")


def check_tool_message(message, canned, what):
    """Returns [(name, input)] of the tool_use blocks (empty when a real model answered in text)."""
    check_message(message, what)
    uses = [block for block in message.content if block.type == "tool_use"]
    if canned:
        expect(uses, f"{what}: no tool_use (text {text_of(message)!r}): the fenced call was not rescued")
    if not uses:
        expect(message.stop_reason in {"end_turn", "max_tokens"}, f"{what}: stop_reason {message.stop_reason!r} without tool_use")
        return []
    expect(message.stop_reason == "tool_use", f"{what}: stop_reason {message.stop_reason!r} next to tool_use")
    ids = set()
    seen = []
    for use in uses:
        expect(isinstance(use.id, str) and use.id, f"{what}: tool_use id {use.id!r}")
        expect(use.id not in ids, f"{what}: duplicate tool_use id {use.id!r}")
        ids.add(use.id)
        expect(use.name in TOOL_NAMES, f"{what}: tool {use.name!r} was not offered")
        expect(isinstance(use.input, dict), f"{what}: input of {use.name} is {type(use.input).__name__}, not an object")
        seen.append((use.name, use.input))
    if canned:
        expect(seen == [(CANNED_TOOL, CANNED_ARGUMENTS)], f"{what}: expected the rescued canned call, got {seen}")
    return seen


def check_event_order(events, what):
    """message_start first, message_stop last, blocks opened, filled and closed in index order,
    exactly one message_delta (with the stop reason) after the last block."""
    types = [event.type for event in events]
    expect(types and types[0] == "message_start", f"{what}: first event {types[:1]}")
    expect(types[-1] == "message_stop", f"{what}: last event {types[-1:]}")
    expect(types.count("message_delta") == 1, f"{what}: {types.count('message_delta')} message_delta events")
    open_index, next_index = None, 0
    for event in events[1:-1]:
        if event.type == "content_block_start":
            expect(open_index is None, f"{what}: block {event.index} starts inside block {open_index}")
            expect(event.index == next_index, f"{what}: block index {event.index}, expected {next_index}")
            open_index = event.index
        elif event.type == "content_block_delta":
            expect(event.index == open_index, f"{what}: delta for block {event.index} while {open_index} is open")
        elif event.type == "content_block_stop":
            expect(event.index == open_index, f"{what}: stop for block {event.index} while {open_index} is open")
            open_index, next_index = None, next_index + 1
        elif event.type == "message_delta":
            expect(open_index is None, f"{what}: message_delta inside block {open_index}")
            expect(event.delta.stop_reason in STOP_REASONS, f"{what}: stop_reason {event.delta.stop_reason!r}")
    expect(next_index > 0, f"{what}: no content block")


def main():
    arguments = parse_arguments(__doc__)
    canned = arguments.backend == "canned"
    client = anthropic.Anthropic(base_url=arguments.base_url, api_key="forge-sdk-check", max_retries=0, timeout=300)
    model = arguments.model
    checks = Checks(f"anthropic {anthropic.__version__}")
    results = {}

    def chat():
        raw = client.messages.with_raw_response.create(model=model, max_tokens=MAX_TOKENS, messages=CHAT_MESSAGES)
        message = raw.parse()
        strict_message(raw.http_response.json(), "the message")
        check_chat_message(message, canned, "chat")

    def chat_streaming():
        events = []
        text = ""
        for number, event in enumerate(client.messages.create(model=model, max_tokens=MAX_TOKENS, messages=CHAT_MESSAGES, stream=True)):
            events.append(strict_event(event.to_dict(), number))
            if event.type == "content_block_delta":
                expect(event.delta.type == "text_delta", f"delta type {event.delta.type!r} in a tool-free stream")
                text += event.delta.text
        check_event_order(events, "streamed chat")
        start = events[0].message
        expect(start.role == "assistant", f"message_start role {start.role!r}")
        stop_reason = next(event.delta.stop_reason for event in events if event.type == "message_delta")
        expect(stop_reason in {"end_turn", "max_tokens"}, f"stop_reason {stop_reason!r} for plain chat")
        if canned:
            expect(text == CANNED_TEXT, f"streamed text {text!r}")
        else:
            expect(text.strip() or stop_reason == "max_tokens", "empty streamed answer")

    def tools():
        raw = client.messages.with_raw_response.create(
            model=model, max_tokens=MAX_TOKENS, system=TOOL_SYSTEM, messages=TOOL_MESSAGES, tools=ANTHROPIC_TOOLS
        )
        message = raw.parse()
        strict_message(raw.http_response.json(), "the message")
        results["tools"] = check_tool_message(message, canned, "tools")
        if results["tools"]:
            results["assistant"] = message

    def tools_streaming():
        events = []
        with client.messages.stream(
            model=model, max_tokens=MAX_TOKENS, system=TOOL_SYSTEM, messages=TOOL_MESSAGES, tools=ANTHROPIC_TOOLS
        ) as stream:
            for number, event in enumerate(stream):
                # The helper adds its own `text` / `input_json` events next to the wire events.
                if event.type in {"message_start", "message_delta", "message_stop", "content_block_start", "content_block_delta", "content_block_stop"}:
                    events.append(strict_event(event.to_dict(), number))
            final = stream.get_final_message()
        check_event_order(events, "streamed tools")
        seen = check_tool_message(final, canned, "streamed tools")
        if canned:
            expect(seen == results.get("tools"), f"streamed calls {seen} differ from the non-streaming {results.get('tools')}")

    def tool_result_turn():
        assistant = results.get("assistant")
        if assistant is None:
            expect(not canned, "no tool_use to answer")
            return  # a real model that answered in text: there is no call to return a result for
        messages = TOOL_MESSAGES + [
            {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in assistant.content]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": block.id, "content": '{"temperature_c": 18, "sky": "clear"}'}
                    for block in assistant.content
                    if block.type == "tool_use"
                ],
            },
        ]
        message = client.messages.create(
            model=model, max_tokens=MAX_TOKENS, system=TOOL_SYSTEM, messages=messages, tools=ANTHROPIC_TOOLS
        )
        seen = check_tool_message(message, False, "after the tool result")
        if canned:
            expect(seen == [(CANNED_TOOL, CANNED_ARGUMENTS)], f"the canned backend always calls the tool again, got {seen}")

    checks.run("chat", chat)
    checks.run("chat, streaming", chat_streaming)
    checks.run("tools", tools)
    checks.run("tools, streaming", tools_streaming)
    checks.run("tools, tool-result turn", tool_result_turn)
    checks.finish()


if __name__ == "__main__":
    main()
