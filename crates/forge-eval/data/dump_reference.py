"""Regenerates reference.json from forge v0.7.3's eval scenarios.

The scenario texts (prompts, tool descriptions, canned tool results) are what the model reads,
so forge-eval carries them byte-for-byte as data. This script imports the reference scenario
modules against a stub of `forge.core.workflow` and writes:

- `scenarios`: per scenario its spec (prompt, user message, tool schemas as pydantic renders
  them, steps, terminal tool, limits, tags, ideal iterations);
- `constants`: module-level upper-case constants (texts and data tables);
- `backends`: the initial instance data of every stateful backend class.

Usage (from a checkout of the reference at v0.7.3):
    git --git-dir=<mirror> archive v0.7.3 tests/eval/scenarios | tar x -C /tmp/ref
    python3 dump_reference.py /tmp/ref > reference.json
Needs pydantic 2.
"""

import importlib
import inspect
import json
import re
import sys
import types
from dataclasses import dataclass, field


def install_stub() -> None:
    @dataclass
    class ToolSpec:
        name: str
        description: str
        parameters: type

    @dataclass
    class ToolDef:
        spec: ToolSpec
        callable: object
        prerequisites: list = field(default_factory=list)

    @dataclass
    class Workflow:
        name: str
        description: str
        tools: dict
        required_steps: list
        terminal_tool: str
        system_prompt_template: str

    forge = types.ModuleType("forge")
    core = types.ModuleType("forge.core")
    workflow = types.ModuleType("forge.core.workflow")
    workflow.ToolSpec, workflow.ToolDef, workflow.Workflow = ToolSpec, ToolDef, Workflow
    sys.modules.update({"forge": forge, "forge.core": core, "forge.core.workflow": workflow})


def jsonable(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            key = "|".join(str(p) for p in k) if isinstance(k, tuple) else str(k)
            out[key] = jsonable(v)
        return out
    if isinstance(value, re.Pattern):
        return value.pattern
    raise TypeError(type(value))


def probe_args(schema: dict, variant: int) -> dict:
    values = {"string": ["probe-a", "probe-b"], "integer": [3, 7], "number": [3.5, 7.5]}
    return {
        name: values[prop["type"]][variant]
        for name, prop in schema.get("properties", {}).items()
    }


def fixed_output(tool, schema: dict):
    """The tool's text when it ignores its arguments (None when it does not, or raises)."""
    try:
        first = tool.callable(**probe_args(schema, 0))
        second = tool.callable(**probe_args(schema, 1))
        empty = tool.callable()
    except Exception:
        return None
    return first if first == second == empty else None


def tool_entry(tool, stateful: bool) -> dict:
    schema = tool.spec.parameters.model_json_schema()
    entry = {"name": tool.spec.name, "description": tool.spec.description, "parameters": schema}
    if not stateful:
        entry["fixed_output"] = fixed_output(tool, schema)
    return entry


def main(root: str) -> None:
    install_stub()
    sys.path.insert(0, root)
    package = importlib.import_module("tests.eval.scenarios")
    scenarios = []
    for scenario in package.ALL_SCENARIOS:
        workflow = scenario.build_workflow()[0] if scenario.build_workflow else scenario.workflow
        scenarios.append({
            "name": scenario.name,
            "description": scenario.description,
            "workflow_name": workflow.name,
            "workflow_description": workflow.description,
            "system_prompt": workflow.system_prompt_template,
            "user_message": scenario.user_message,
            "tools": [tool_entry(t, scenario.build_workflow is not None) for t in workflow.tools.values()],
            "required_steps": list(workflow.required_steps),
            "terminal_tool": workflow.terminal_tool,
            "budget_tokens": scenario.budget_tokens,
            "max_iterations": scenario.max_iterations,
            "max_retries_per_step": scenario.max_retries_per_step,
            "max_tool_errors": scenario.max_tool_errors,
            "tags": list(scenario.tags),
            "ideal_iterations": scenario.ideal_iterations,
        })
    constants, backends = {}, {}
    for name in sorted(sys.modules):
        if not name.startswith("tests.eval.scenarios._"):
            continue
        module = sys.modules[name]
        short = name.rsplit(".", 1)[1]
        for key, value in vars(module).items():
            if re.fullmatch(r"_[A-Z][A-Z0-9_]*", key):
                try:
                    constants[f"{short}.{key}"] = jsonable(value)
                except TypeError:
                    pass
            if inspect.isclass(value) and value.__module__ == name and not hasattr(value, "model_fields"):
                try:
                    backends[f"{short}.{key}"] = jsonable(vars(value()))
                except TypeError:
                    pass
    json.dump({"scenarios": scenarios, "constants": constants, "backends": backends},
              sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
