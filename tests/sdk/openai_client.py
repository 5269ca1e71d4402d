#!/usr/bin/env python3
"""The official `openai` Python SDK against forge-proxy's /v1/chat/completions: plain chat and tool
calls, streaming and not. Asserts what the SDK parsed (strictly re-validated against the SDK's own
models), and with `--backend canned` also the exact canned answers.

    python openai_client.py --base-url http://127.0.0.1:8081 --backend canned
"""

import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from sdk_checks import (
    CANNED_ARGUMENTS,
    CANNED_TEXT,
    CANNED_TOOL,
    TOOL_NAMES,
    TOOLS,
    CheckFailed,
    Checks,
    expect,
    expect_json_object,
    parse_arguments,
)

FINISH_REASONS = {"stop", "length", "tool_calls", "content_filter", "function_call"}
MAX_TOKENS = 48
OPENAI_TOOLS = [
    {"type": "function", "function": {"name": name, "description": description, "parameters": schema}}
    for name, description, schema in TOOLS
]
CHAT_MESSAGES = [{"role": "user", "content": "Say hello in five words."}]
TOOL_MESSAGES = [
    {"role": "system", "content": "Use the tools to answer."},
    {"role": "user", "content": "What is the weather in Paris?"},
]


def strict(model, payload, what):
    """Re-validates `payload` against the SDK model: the SDK itself builds responses without
    validation, so a wrong literal (say an unknown finish_reason) would otherwise slip through."""
    try:
        return model.model_validate(payload)
    except Exception as error:
        raise CheckFailed(f"{what} does not validate as {model.__name__}: {error}") from error


def check_usage(usage, what):
    expect(usage is not None, f"{what}: no usage")
    for field in ("prompt_tokens", "completion_tokens", "total_tokens"):
        value = getattr(usage, field)
        expect(isinstance(value, int) and value >= 0, f"{what}: usage.{field} is {value!r}")


def check_tool_calls(calls, finish_reason, canned, what):
    """Calls name offered tools with JSON-object arguments; returns [(name, arguments)]."""
    expect(finish_reason == "tool_calls", f"{what}: finish_reason {finish_reason!r} next to tool calls")
    seen = []
    ids = set()
    for call in calls:
        expect(call.type == "function", f"{what}: call type {call.type!r}")
        expect(isinstance(call.id, str) and call.id, f"{what}: call id {call.id!r}")
        expect(call.id not in ids, f"{what}: duplicate call id {call.id!r}")
        ids.add(call.id)
        expect(call.function.name in TOOL_NAMES, f"{what}: tool {call.function.name!r} was not offered")
        arguments = expect_json_object(call.function.arguments, f"{what}: arguments of {call.function.name}")
        seen.append((call.function.name, arguments))
    if canned:
        expect(seen == [(CANNED_TOOL, CANNED_ARGUMENTS)], f"{what}: expected the rescued canned call, got {seen}")
    return seen


def main():
    arguments = parse_arguments(__doc__)
    canned = arguments.backend == "canned"
    client = openai.OpenAI(base_url=f"{arguments.base_url}/v1", api_key="forge-sdk-check", max_retries=0, timeout=300)
    model = arguments.model
    checks = Checks(f"openai {openai.__version__}")
    results = {}

    def chat():
        raw = client.chat.completions.with_raw_response.create(model=model, messages=CHAT_MESSAGES, max_tokens=MAX_TOKENS)
        completion = raw.parse()
        strict(ChatCompletion, raw.http_response.json(), "the completion")
        expect(completion.object == "chat.completion", f"object is {completion.object!r}")
        expect(len(completion.choices) == 1, f"{len(completion.choices)} choices")
        choice = completion.choices[0]
        expect(choice.message.role == "assistant", f"role {choice.message.role!r}")
        expect(choice.finish_reason in {"stop", "length"}, f"finish_reason {choice.finish_reason!r} for plain chat")
        expect(not choice.message.tool_calls, f"tool calls in a tool-free answer: {choice.message.tool_calls}")
        expect(isinstance(choice.message.content, str), f"content is {choice.message.content!r}")
        if canned:
            expect(choice.message.content == CANNED_TEXT, f"content {choice.message.content!r}")
        else:
            expect(choice.message.content.strip() or choice.finish_reason == "length", "empty answer")
        check_usage(completion.usage, "chat")

    def chat_streaming():
        stream = client.chat.completions.create(
            model=model, messages=CHAT_MESSAGES, max_tokens=MAX_TOKENS, stream=True, stream_options={"include_usage": True}
        )
        text, finishes, usage, chunks = "", [], None, 0
        for chunk in stream:
            chunks += 1
            strict(ChatCompletionChunk, chunk.to_dict(), f"chunk {chunks}")
            expect(chunk.object == "chat.completion.chunk", f"chunk object {chunk.object!r}")
            if chunk.usage is not None:
                usage = chunk.usage
            for choice in chunk.choices:
                expect(not choice.delta.tool_calls, f"tool-call delta in a tool-free stream: {choice.delta.tool_calls}")
                text += choice.delta.content or ""
                if choice.finish_reason is not None:
                    finishes.append(choice.finish_reason)
        expect(chunks > 0, "the stream had no chunks")
        expect(len(finishes) == 1, f"finish_reasons {finishes} (expected exactly one)")
        expect(finishes[0] in {"stop", "length"}, f"finish_reason {finishes[0]!r} for plain chat")
        if canned:
            expect(text == CANNED_TEXT, f"streamed text {text!r}")
        else:
            expect(text.strip() or finishes[0] == "length", "empty streamed answer")
        check_usage(usage, "streamed chat (include_usage)")

    def tools():
        raw = client.chat.completions.with_raw_response.create(
            model=model, messages=TOOL_MESSAGES, tools=OPENAI_TOOLS, max_tokens=MAX_TOKENS
        )
        completion = raw.parse()
        strict(ChatCompletion, raw.http_response.json(), "the completion")
        expect(len(completion.choices) == 1, f"{len(completion.choices)} choices")
        choice = completion.choices[0]
        expect(choice.finish_reason in FINISH_REASONS, f"finish_reason {choice.finish_reason!r}")
        calls = choice.message.tool_calls or []
        if canned:
            expect(calls, f"no tool call (content {choice.message.content!r}): the fenced call was not rescued")
        if calls:
            results["tools"] = check_tool_calls(calls, choice.finish_reason, canned, "tools")
            results["assistant"] = choice.message
        else:
            expect(isinstance(choice.message.content, str), f"neither calls nor text: {choice.message}")
            expect(choice.finish_reason in {"stop", "length"}, f"finish_reason {choice.finish_reason!r} without calls")
        check_usage(completion.usage, "tools")

    def tools_streaming():
        stream = client.chat.completions.create(
            model=model, messages=TOOL_MESSAGES, tools=OPENAI_TOOLS, max_tokens=MAX_TOKENS, stream=True
        )
        calls, text, finishes, chunks = {}, "", [], 0
        for chunk in stream:
            chunks += 1
            strict(ChatCompletionChunk, chunk.to_dict(), f"chunk {chunks}")
            for choice in chunk.choices:
                text += choice.delta.content or ""
                for delta in choice.delta.tool_calls or []:
                    call = calls.setdefault(delta.index, {"id": None, "name": "", "arguments": ""})
                    if delta.id:
                        expect(call["id"] in (None, delta.id), f"call {delta.index} changed id")
                        call["id"] = delta.id
                    if delta.function is not None:
                        call["name"] += delta.function.name or ""
                        call["arguments"] += delta.function.arguments or ""
                if choice.finish_reason is not None:
                    finishes.append(choice.finish_reason)
        expect(len(finishes) == 1, f"finish_reasons {finishes} (expected exactly one)")
        expect(finishes[0] in FINISH_REASONS, f"finish_reason {finishes[0]!r}")
        if canned:
            expect(calls, f"no streamed tool call (text {text!r}): the fenced call was not rescued")
        if calls:
            expect(sorted(calls) == list(range(len(calls))), f"call indexes {sorted(calls)}")
            expect(finishes[0] == "tool_calls", f"finish_reason {finishes[0]!r} next to tool calls")
            seen = []
            for index in sorted(calls):
                call = calls[index]
                expect(isinstance(call["id"], str) and call["id"], f"call {index} has no id")
                expect(call["name"] in TOOL_NAMES, f"tool {call['name']!r} was not offered")
                seen.append((call["name"], expect_json_object(call["arguments"], f"streamed arguments of {call['name']}")))
            if canned:
                expect(seen == results.get("tools"), f"streamed calls {seen} differ from the non-streaming {results.get('tools')}")
        else:
            expect(finishes[0] in {"stop", "length"}, f"finish_reason {finishes[0]!r} without calls")

    def tool_result_turn():
        assistant = results.get("assistant")
        if assistant is None:
            expect(not canned, "no tool call to answer")
            return  # a real model that answered in text: there is no call to return a result for
        messages = TOOL_MESSAGES + [
            assistant.model_dump(exclude_none=True),
            *[
                {"role": "tool", "tool_call_id": call.id, "content": '{"temperature_c": 18, "sky": "clear"}'}
                for call in assistant.tool_calls
            ],
        ]
        completion = client.chat.completions.create(model=model, messages=messages, tools=OPENAI_TOOLS, max_tokens=MAX_TOKENS)
        choice = completion.choices[0]
        expect(choice.finish_reason in FINISH_REASONS, f"finish_reason {choice.finish_reason!r}")
        if choice.message.tool_calls:
            check_tool_calls(choice.message.tool_calls, choice.finish_reason, canned, "after the tool result")
        else:
            expect(not canned, "the canned backend always calls the tool again")
            expect(isinstance(choice.message.content, str), f"neither calls nor text: {choice.message}")

    checks.run("chat", chat)
    checks.run("chat, streaming", chat_streaming)
    checks.run("tools", tools)
    checks.run("tools, streaming", tools_streaming)
    checks.run("tools, tool-result turn", tool_result_turn)
    checks.finish()


if __name__ == "__main__":
    main()
