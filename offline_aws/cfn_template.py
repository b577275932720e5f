"""Reading a CloudFormation/SAM template: the YAML short-form tags, parameters, conditions, intrinsics.

Only what CloudFormation itself would evaluate at deploy time. An intrinsic function or tag this module
does not know fails with TemplateError naming it and where it was found, never silently.
"""

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml


class TemplateError(ValueError):
    pass


# ---------------------------------------------------------------- YAML

_SHORT_FORMS = {
    "Ref": "Ref",
    "Condition": "Condition",
    **{
        name: f"Fn::{name}"
        for name in (
            "Sub",
            "GetAtt",
            "If",
            "Equals",
            "Not",
            "And",
            "Or",
            "Select",
            "Join",
            "Split",
            "FindInMap",
            "Base64",
            "GetAZs",
            "ImportValue",
            "Cidr",
            "Length",
            "ToJsonString",
            "Transform",
        )
    },
}


class _TemplateLoader(yaml.SafeLoader):
    pass


def _construct_short_form(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if tag_suffix not in _SHORT_FORMS:
        raise TemplateError(f"unknown YAML tag !{tag_suffix} at line {node.start_mark.line + 1}")
    key = _SHORT_FORMS[tag_suffix]
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if key == "Fn::GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {key: value}


_TemplateLoader.add_multi_constructor("!", _construct_short_form)
# Timestamps and dates stay text, as CloudFormation reads them.
_TemplateLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_template(path: Path) -> dict[str, Any]:
    document = yaml.load(path.read_text(), Loader=_TemplateLoader)  # a SafeLoader subclass
    if not isinstance(document, dict) or "Resources" not in document:
        raise TemplateError(f"{path} is not a CloudFormation template (no Resources)")
    return document


# ---------------------------------------------------------------- evaluation

NO_VALUE = object()  # AWS::NoValue: the property or list item disappears
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class Resolver:
    """Evaluates intrinsic functions against parameters, conditions and already deployed resources."""

    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        parameters: Mapping[str, str],
        pseudo_parameters: Mapping[str, str],
        resource_ref: Callable[[str], Any],
        resource_attribute: Callable[[str, str], Any],
    ) -> None:
        self.template = template
        self.parameters = dict(parameters)
        self.pseudo = dict(pseudo_parameters)
        self._resource_ref = resource_ref
        self._resource_attribute = resource_attribute
        self._conditions: dict[str, bool] = {}

    # -------------------------------------------------------- conditions

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            definitions = self.template.get("Conditions", {})
            if name not in definitions:
                raise TemplateError(f"condition {name!r} is not defined")
            value = self.resolve(definitions[name], f"Conditions.{name}")
            if not isinstance(value, bool):
                raise TemplateError(f"condition {name!r} does not evaluate to true or false")
            self._conditions[name] = value
        return self._conditions[name]

    # -------------------------------------------------------- values

    def resolve(self, value: Any, where: str) -> Any:
        if isinstance(value, list):
            items = [self.resolve(item, f"{where}[{i}]") for i, item in enumerate(value)]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref" or key == "Condition" or key.startswith("Fn::"):
                return self._intrinsic(key, argument, where)
        resolved = {key: self.resolve(item, f"{where}.{key}") for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _intrinsic(self, key: str, argument: Any, where: str) -> Any:
        handler = {
            "Ref": self._ref,
            "Condition": lambda arg, w: self.condition(str(arg)),
            "Fn::Sub": self._sub,
            "Fn::GetAtt": self._get_att,
            "Fn::If": self._if,
            "Fn::Equals": self._equals,
            "Fn::Not": self._not,
            "Fn::And": lambda arg, w: all(self._boolean(item, w) for item in self._list(arg, 2, 10, key, w)),
            "Fn::Or": lambda arg, w: any(self._boolean(item, w) for item in self._list(arg, 2, 10, key, w)),
            "Fn::Select": self._select,
            "Fn::Join": self._join,
            "Fn::Split": self._split,
            "Fn::FindInMap": self._find_in_map,
        }.get(key)
        if handler is None:
            raise TemplateError(f"{where}: intrinsic function {key} is not supported by the offline deployer")
        return handler(argument, where)

    def _ref(self, name: Any, where: str) -> Any:
        if not isinstance(name, str):
            raise TemplateError(f"{where}: Ref takes a name, got {name!r}")
        if name == "AWS::NoValue":
            return NO_VALUE
        if name.startswith("AWS::"):
            if name not in self.pseudo:
                raise TemplateError(f"{where}: pseudo parameter {name} is not supported")
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.template.get("Resources", {}):
            return self._resource_ref(name)
        raise TemplateError(f"{where}: Ref to unknown name {name!r}")

    def _get_att(self, argument: Any, where: str) -> Any:
        if isinstance(argument, str):
            argument = argument.split(".", 1)
        if not (isinstance(argument, list) and len(argument) == 2):
            raise TemplateError(f"{where}: Fn::GetAtt takes [resource, attribute], got {argument!r}")
        logical_id, attribute = (self.resolve(part, where) for part in argument)
        if logical_id not in self.template.get("Resources", {}):
            raise TemplateError(f"{where}: Fn::GetAtt on unknown resource {logical_id!r}")
        return self._resource_attribute(str(logical_id), str(attribute))

    def _sub(self, argument: Any, where: str) -> str:
        if isinstance(argument, str):
            text, variables = argument, {}
        elif isinstance(argument, list) and len(argument) == 2 and isinstance(argument[0], str):
            text = argument[0]
            variables = {name: self.resolve(value, f"{where}.{name}") for name, value in argument[1].items()}
        else:
            raise TemplateError(f"{where}: Fn::Sub takes a string or [string, variables]")

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"  # ${!Literal} is written as ${Literal}
            if name in variables:
                value = variables[name]
            elif "." in name and not name.startswith("AWS::"):
                value = self._get_att(name.split(".", 1), where)
            else:
                value = self._ref(name, where)
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise TemplateError(f"{where}: ${{{name}}} in Fn::Sub is not a string: {value!r}")
            return str(value)

        return _SUB_VARIABLE.sub(replace, text)

    def _if(self, argument: Any, where: str) -> Any:
        condition, when_true, when_false = self._list(argument, 3, 3, "Fn::If", where)
        return self.resolve(when_true if self.condition(str(condition)) else when_false, where)

    def _equals(self, argument: Any, where: str) -> bool:
        left, right = (self.resolve(item, where) for item in self._list(argument, 2, 2, "Fn::Equals", where))
        return str(left) == str(right) if not isinstance(left, list | dict) else left == right

    def _not(self, argument: Any, where: str) -> bool:
        (item,) = self._list(argument, 1, 1, "Fn::Not", where)
        return not self._boolean(item, where)

    def _boolean(self, item: Any, where: str) -> bool:
        value = self.resolve(item, where)
        if not isinstance(value, bool):
            raise TemplateError(f"{where}: expected a condition, got {value!r}")
        return value

    def _select(self, argument: Any, where: str) -> Any:
        index, items = self._list(argument, 2, 2, "Fn::Select", where)
        index = int(self.resolve(index, where))
        items = self.resolve(items, where)
        if not isinstance(items, list) or not 0 <= index < len(items):
            raise TemplateError(f"{where}: Fn::Select index {index} outside {items!r}")
        return items[index]

    def _join(self, argument: Any, where: str) -> str:
        delimiter, items = self._list(argument, 2, 2, "Fn::Join", where)
        items = self.resolve(items, where)
        if not isinstance(items, list):
            raise TemplateError(f"{where}: Fn::Join needs a list, got {items!r}")
        return str(delimiter).join(str(item) for item in items)

    def _split(self, argument: Any, where: str) -> list[str]:
        delimiter, text = self._list(argument, 2, 2, "Fn::Split", where)
        return str(self.resolve(text, where)).split(str(delimiter))

    def _find_in_map(self, argument: Any, where: str) -> Any:
        name, top, second = (
            self.resolve(item, where) for item in self._list(argument, 3, 3, "Fn::FindInMap", where)
        )
        try:
            return self.template["Mappings"][name][top][second]
        except KeyError:
            raise TemplateError(f"{where}: Fn::FindInMap found nothing at {name}/{top}/{second}") from None

    @staticmethod
    def _list(argument: Any, minimum: int, maximum: int, function: str, where: str) -> list[Any]:
        if not isinstance(argument, list) or not minimum <= len(argument) <= maximum:
            raise TemplateError(
                f"{where}: {function} takes a list of {minimum} to {maximum} items, got {argument!r}"
            )
        return argument


def parameter_values(template: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, str]:
    """Parameters with their defaults and the overrides, checked as CloudFormation checks them."""
    declared = template.get("Parameters", {})
    unknown = set(overrides) - set(declared)
    if unknown:
        raise TemplateError(f"parameter overrides for undeclared parameters: {', '.join(sorted(unknown))}")
    values: dict[str, str] = {}
    for name, spec in declared.items():
        if name in overrides:
            value = str(overrides[name])
        elif "Default" in spec:
            value = str(spec["Default"])
        else:
            raise TemplateError(f"parameter {name} has no default and no override")
        allowed = spec.get("AllowedValues")
        if allowed is not None and value not in [str(item) for item in allowed]:
            raise TemplateError(f"parameter {name}={value!r} is not one of {allowed}")
        pattern = spec.get("AllowedPattern")
        if (
            pattern is not None
            and spec.get("Type", "String") == "String"
            and not re.fullmatch(pattern, value)
        ):
            raise TemplateError(f"parameter {name}={value!r} does not match {pattern}")
        if spec.get("Type") == "Number":
            try:
                float(value)
            except ValueError:
                raise TemplateError(f"parameter {name}={value!r} is not a number") from None
        values[name] = value
    return values


def references(value: Any) -> set[str]:
    """Names a template value refers to (Ref, Fn::GetAtt, Fn::Sub variables), for ordering resources."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref" and isinstance(argument, str):
                return {argument}
            if key == "Fn::GetAtt":
                target = argument.split(".", 1)[0] if isinstance(argument, str) else argument[0]
                return {target} if isinstance(target, str) else references(target)
            if key == "Fn::Sub":
                text = argument if isinstance(argument, str) else argument[0]
                names = {m.split(".", 1)[0] for m in _SUB_VARIABLE.findall(text) if not m.startswith("!")}
                if isinstance(argument, list):
                    names -= set(argument[1])
                    found |= references(argument[1])
                return found | names
        for item in value.values():
            found |= references(item)
    return found
