"""A question's form: from a pydantic model or a JSON schema to fields, and back to values.

The browser draws flat :class:`~gptchat.protocol.FormField` rows (text, number,
integer, select, checkbox); what the user submits is validated here, by the
developer's own model when one was given, else by a model built from the
schema, so a handler gets values of the types it asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, cast

from pydantic import BaseModel, ValidationError, create_model

from .protocol import FormField, describe_error

_TYPES = {"string": "text", "number": "number", "integer": "integer", "boolean": "checkbox"}
_PYTHON: dict[str, type] = {"text": str, "number": float, "integer": int, "checkbox": bool}


class FormError(ValueError):
    """The values submitted do not fit the form; the message names the field."""


def _resolve(schema: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    # Pydantic puts enums in $defs and refers to them; a form is flat, so inline them.
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = schema.get("$defs", {}).get(ref.removeprefix("#/$defs/"))
        if isinstance(target, Mapping):
            return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _field(schema: Mapping[str, Any], name: str, prop: Any, required: bool) -> FormField:
    if not isinstance(prop, Mapping):
        raise ValueError(f"form field {name!r}: its schema must be an object")
    prop = _resolve(schema, prop)
    branches = prop.get("anyOf")
    if isinstance(branches, list):  # Optional[X]: X, not required
        kept = [_resolve(schema, b) for b in branches if b != {"type": "null"}]
        if len(kept) != 1:
            raise ValueError(f"form field {name!r}: a union of types is not supported")
        prop = {**kept[0], **{k: v for k, v in prop.items() if k != "anyOf"}}
        required = False
    options = prop.get("enum")
    if options is not None:
        if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
            raise ValueError(f"form field {name!r}: only choices of strings are supported")
        kind = "select"
    else:
        json_type = prop.get("type")
        if json_type not in _TYPES:
            raise ValueError(
                f"form field {name!r}: type {json_type!r} is not supported "
                "(string, number, integer, boolean, or a choice of strings)"
            )
        kind = _TYPES[json_type]
    label = prop.get("title")
    description = prop.get("description")
    default = prop.get("default")
    return FormField(
        name=name,
        label=label if isinstance(label, str) and label else name.replace("_", " ").capitalize(),
        type=cast(Any, kind),
        required=required and "default" not in prop,
        options=options,
        default=default if isinstance(default, (str, int, float, bool)) else None,
        description=description if isinstance(description, str) else None,
        minimum=prop.get("minimum"),
        maximum=prop.get("maximum"),
    )


def form_fields(schema: Mapping[str, Any]) -> list[FormField]:
    """The fields of an object schema (what ``Model.model_json_schema()`` gives).

    :raises ValueError: for a schema that is not a flat object of supported types.

    Example::

        form_fields({"type": "object", "properties": {"nights": {"type": "integer"}}})
    """
    properties = schema.get("properties")
    if schema.get("type", "object") != "object" or not isinstance(properties, Mapping):
        raise ValueError("a form is an object schema with properties")
    if not properties:
        raise ValueError("a form needs at least one field")
    required = schema.get("required", [])
    required = set(required) if isinstance(required, list) else set()
    return [_field(schema, str(n), p, n in required) for n, p in properties.items()]


def _model_of(fields: list[FormField]) -> type[BaseModel]:
    definitions: dict[str, Any] = {}
    for field in fields:
        annotation: Any = (
            Literal[tuple(field.options or ())] if field.type == "select" else _PYTHON[field.type]
        )
        if not field.required:
            annotation = annotation | None
        default = ... if field.required else field.default
        definitions[field.name] = (annotation, default)
    return create_model("Form", **definitions)


class Form:
    """A question's form: its fields for the browser, and the validator of what comes back."""

    def __init__(self, spec: type[BaseModel] | Mapping[str, Any]) -> None:
        if isinstance(spec, type) and issubclass(spec, BaseModel):
            self._model: type[BaseModel] = spec
            self._own = True
            self.fields = form_fields(spec.model_json_schema())
        elif isinstance(spec, Mapping):
            self.fields = form_fields(spec)
            self._model = _model_of(self.fields)
            self._own = False
        else:
            raise TypeError(
                f"form= takes a pydantic model class or a JSON schema dict, not {spec!r:.60}"
            )

    def validate(self, values: Any) -> tuple[Any, dict[str, Any]]:
        """The handler's value (the model, or a dict) and the values as JSON.

        :raises FormError: naming the field that does not fit.
        """
        if not isinstance(values, dict):
            raise FormError("a form's answer is an object of its fields' values")
        unknown = set(values) - {f.name for f in self.fields}
        if unknown:
            raise FormError(f"{sorted(unknown)[0]}: not a field of this form")
        try:
            model = self._model.model_validate(values)
        except ValidationError as exc:
            raise FormError(describe_error(exc, values)) from None
        plain = model.model_dump(mode="json")
        return (model if self._own else plain), plain

    def as_text(self, values: Mapping[str, Any]) -> str:
        """The answer as the model reads it: one ``Label: value`` line per field."""
        lines = []
        for field in self.fields:
            value = values.get(field.name)
            if value is None:
                continue
            shown = ("yes" if value else "no") if isinstance(value, bool) else str(value)
            lines.append(f"{field.label}: {shown}")
        return "\n".join(lines) or "(nothing filled in)"
