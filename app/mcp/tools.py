"""Typed Python functions as MCP tools: the schema, validation and result all follow from types.

A tool is a function whose keyword parameters carry type hints (constraints and descriptions via
`Annotated[..., Field(...)]`) and whose return type is a pydantic model. Registering it derives,
once, a pydantic model of its arguments: that model's JSON schema is the tool's `inputSchema`
and the same model validates every call, so the schema a client sees and the checks the server
makes cannot drift apart. The return model's schema is the `outputSchema`; its JSON dump is the
`structuredContent`, and the same JSON, as text, is the `content` (the spec asks tools with
structured output to repeat it as text for clients that read only `content`).

    tools = ToolRegistry()

    @tools.tool(scope="listings:read")
    def get_listing(listing_id: Annotated[str, Field(description="...")]) -> Listing:
        '''Get the full details of one listing by its id.'''
        raise ToolError("listing not found")  # -> isError result with this text

A tool is read-only unless registered with `read_only=False`; its MCP annotations say so
(`readOnlyHint`), and clients decide on that whether to ask the user first (CONTRACT.md 6.3).
A tool that acts outside the service (sends mail) also says `open_world=True`.
"""

from __future__ import annotations

import inspect
import json
import logging
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import pydantic
from mcp_types import CallToolResult, TextContent, Tool, ToolAnnotations
from pydantic import BaseModel, ConfigDict

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

INTERNAL_ERROR_TEXT = "The tool failed unexpectedly; the error was logged on the server."


class ToolError(Exception):
    """Raised by a tool for an expected failure; its message is what the caller reads."""


@dataclass(frozen=True)
class RegisteredTool:
    """One tool: its function, the models derived from it, and the scope a caller needs."""

    name: str
    description: str
    scope: str
    function: Callable[..., BaseModel]
    arguments_model: type[BaseModel]
    result_model: type[BaseModel]
    annotations: ToolAnnotations

    def definition(self) -> Tool:
        """The tool as `tools/list` advertises it."""
        return Tool(
            name=self.name,
            description=self.description,
            input_schema=self.arguments_model.model_json_schema(),
            output_schema=self.result_model.model_json_schema(mode="serialization"),
            annotations=self.annotations,
        )

    def call(self, arguments: Mapping[str, Any] | None) -> CallToolResult:
        """Validate `arguments`, run the tool, and shape the outcome as a result.

        Every failure becomes an `isError` result: bad arguments name the field, a `ToolError`
        gives its own message, anything else a generic message (and a logged traceback).
        """
        try:
            parsed = self.arguments_model.model_validate(dict(arguments or {}))
        except pydantic.ValidationError as error:
            return error_result(describe_validation_error(error))
        kwargs = {field: getattr(parsed, field) for field in type(parsed).model_fields}
        try:
            value = self.function(**kwargs)
            result = self.result_model.model_validate(value)
        except ToolError as error:
            return error_result(str(error))
        except Exception:
            log.exception("tool %s raised", self.name)
            return error_result(INTERNAL_ERROR_TEXT)
        structured = result.model_dump(mode="json")
        return CallToolResult(
            content=[TextContent(text=json.dumps(structured, ensure_ascii=False))],
            structured_content=structured,
        )


class ToolRegistry:
    """The tools one service offers, in registration order."""

    def __init__(self) -> None:
        self._tools: dict[str, RegisteredTool] = {}

    def tool(
        self,
        *,
        scope: str,
        name: str | None = None,
        read_only: bool = True,
        open_world: bool = False,
    ) -> Callable[[F], F]:
        """Register the decorated function as a tool that needs `scope`; the function is kept."""

        def register(function: F) -> F:
            tool = build_tool(
                function, scope=scope, name=name, read_only=read_only, open_world=open_world
            )
            if tool.name in self._tools:
                raise ValueError(f"a tool named {tool.name!r} is already registered")
            self._tools[tool.name] = tool
            return function

        return register

    def get(self, name: str) -> RegisteredTool | None:
        return self._tools.get(name)

    def __iter__(self) -> Iterator[RegisteredTool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    @property
    def scopes(self) -> list[str]:
        """Every scope some tool needs, sorted: what the service's metadata advertises."""
        return sorted({tool.scope for tool in self._tools.values()})


def build_tool(
    function: Callable[..., Any],
    *,
    scope: str,
    name: str | None = None,
    read_only: bool = True,
    open_world: bool = False,
) -> RegisteredTool:
    """Derive a `RegisteredTool` from a typed function; refuse functions that are not typed."""
    hints = typing.get_type_hints(function, include_extras=True)
    result_model = hints.get("return")
    if not (isinstance(result_model, type) and issubclass(result_model, BaseModel)):
        raise TypeError(f"tool {function.__name__} must declare a pydantic model as return type")
    return RegisteredTool(
        name=name or function.__name__,
        description=_first_paragraph(inspect.getdoc(function)),
        scope=scope,
        function=function,
        arguments_model=_arguments_model(function, hints),
        result_model=result_model,
        annotations=ToolAnnotations(
            title=(name or function.__name__).replace("_", " ").capitalize(),
            read_only_hint=read_only,
            destructive_hint=None if read_only else False,
            idempotent_hint=read_only,
            open_world_hint=open_world,
        ),
    )


def _arguments_model(function: Callable[..., Any], hints: dict[str, Any]) -> type[BaseModel]:
    """A model with one field per parameter; unknown arguments are refused, not ignored."""
    fields: dict[str, Any] = {}
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise TypeError(f"tool {function.__name__} may not take *args or **kwargs")
        if parameter.name not in hints:
            raise TypeError(f"parameter {parameter.name} of {function.__name__} needs a type hint")
        default = ... if parameter.default is parameter.empty else parameter.default
        fields[parameter.name] = (hints[parameter.name], default)
    title = "".join(part.capitalize() for part in function.__name__.split("_")) + "Arguments"
    return pydantic.create_model(title, __config__=ConfigDict(extra="forbid"), **fields)


def _first_paragraph(doc: str | None) -> str:
    if not doc:
        return ""
    return " ".join(doc.strip().split("\n\n")[0].split())


def describe_validation_error(error: pydantic.ValidationError) -> str:
    """One line per problem, each naming its field: `limit: Input should be ... 50`."""
    lines = []
    for problem in error.errors(include_url=False):
        where = ".".join(str(part) for part in problem["loc"]) or "arguments"
        lines.append(f"{where}: {problem['msg']}")
    return "; ".join(lines)


def error_result(message: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(text=message)], is_error=True)
