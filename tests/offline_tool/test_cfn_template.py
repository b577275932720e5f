"""The template reader: short-form tags, parameters, conditions and intrinsics, without an emulation."""

import textwrap

import pytest

from offline_aws.cfn_template import Resolver, TemplateError, load_template, parameter_values, references

TEMPLATE = """
Parameters:
  Env: {Type: String, Default: dev, AllowedValues: [dev, prod]}
  Email: {Type: String, Default: "", AllowedPattern: "^$|^[^@]+@[^@]+$"}
  Days: {Type: Number, Default: 30}
Mappings:
  Sizes: {dev: {Shards: 1}, prod: {Shards: 4}}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  HasEmail: !Not [!Equals [!Ref Email, ""]]
  ProdWithEmail: !And [!Condition IsProd, !Condition HasEmail]
Resources:
  Bucket: {Type: AWS::S3::Bucket}
Outputs:
  When: {Value: 2024-01-01}
"""


def resolver(tmp_path, **overrides) -> Resolver:
    path = tmp_path / "template.yaml"
    path.write_text(textwrap.dedent(TEMPLATE))
    template = load_template(path)
    return Resolver(
        template,
        parameters=parameter_values(template, overrides),
        pseudo_parameters={
            "AWS::Region": "us-east-1",
            "AWS::AccountId": "123456789012",
            "AWS::StackName": "st",
        },
        resource_ref=lambda logical_id: f"ref-of-{logical_id}",
        resource_attribute=lambda logical_id, name: f"{name}-of-{logical_id}",
    )


def test_short_forms_load_as_their_long_forms(tmp_path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "Resources:\n  A: {Type: X, Properties: {B: !GetAtt C.Arn, D: !Sub 'x${E}', F: !Ref G}}\n"
    )
    properties = load_template(path)["Resources"]["A"]["Properties"]
    assert properties == {"B": {"Fn::GetAtt": ["C", "Arn"]}, "D": {"Fn::Sub": "x${E}"}, "F": {"Ref": "G"}}


def test_dates_stay_text(tmp_path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(textwrap.dedent(TEMPLATE))
    assert load_template(path)["Outputs"]["When"]["Value"] == "2024-01-01"


def test_an_unknown_tag_fails_naming_it(tmp_path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("Resources:\n  A: {Type: X, Properties: {B: !Magic C}}\n")
    with pytest.raises(TemplateError, match="unknown YAML tag !Magic at line 2"):
        load_template(path)


def test_parameters_take_defaults_and_checked_overrides(tmp_path) -> None:
    assert resolver(tmp_path).parameters == {"Env": "dev", "Email": "", "Days": "30"}
    with pytest.raises(TemplateError, match="not one of"):
        resolver(tmp_path, Env="test")
    with pytest.raises(TemplateError, match="does not match"):
        resolver(tmp_path, Email="not-an-address")
    with pytest.raises(TemplateError, match="is not a number"):
        resolver(tmp_path, Days="thirty")
    with pytest.raises(TemplateError, match="undeclared parameters: Nope"):
        resolver(tmp_path, Nope="x")


def test_conditions(tmp_path) -> None:
    dev = resolver(tmp_path)
    assert (dev.condition("IsProd"), dev.condition("HasEmail"), dev.condition("ProdWithEmail")) == (
        False,
        False,
        False,
    )
    prod = resolver(tmp_path, Env="prod", Email="a@b.c")
    assert prod.condition("ProdWithEmail") is True
    assert prod.resolve({"Fn::If": ["IsProd", "big", "small"]}, "x") == "big"


def test_intrinsics(tmp_path) -> None:
    r = resolver(tmp_path, Env="prod")
    assert r.resolve({"Fn::Sub": "${AWS::StackName}-${Env}-${Bucket}-${Bucket.Arn}-${!Literal}"}, "x") == (
        "st-prod-ref-of-Bucket-Arn-of-Bucket-${Literal}"
    )
    assert r.resolve({"Fn::Sub": ["${A}/${Env}", {"A": {"Ref": "AWS::Region"}}]}, "x") == "us-east-1/prod"
    assert r.resolve({"Fn::GetAtt": "Bucket.DomainName"}, "x") == "DomainName-of-Bucket"
    assert r.resolve({"Fn::Join": ["-", ["a", {"Ref": "Env"}]]}, "x") == "a-prod"
    assert r.resolve({"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}, "x") == "b"
    assert r.resolve({"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "Shards"]}, "x") == 4
    assert r.resolve({"A": {"Ref": "AWS::NoValue"}, "B": [1, {"Ref": "AWS::NoValue"}]}, "x") == {"B": [1]}


def test_unsupported_intrinsics_and_unknown_names_fail_clearly(tmp_path) -> None:
    r = resolver(tmp_path)
    with pytest.raises(TemplateError, match=r"Resources.A.P: intrinsic function Fn::GetAZs is not supported"):
        r.resolve({"Fn::GetAZs": ""}, "Resources.A.P")
    with pytest.raises(TemplateError, match="Ref to unknown name 'Nothing'"):
        r.resolve({"Ref": "Nothing"}, "x")
    with pytest.raises(TemplateError, match="pseudo parameter AWS::NotificationARNs"):
        r.resolve({"Ref": "AWS::NotificationARNs"}, "x")


def test_references_find_what_a_value_depends_on() -> None:
    value = {
        "A": {"Ref": "One"},
        "B": {"Fn::GetAtt": ["Two", "Arn"]},
        "C": {"Fn::Sub": "${Three.Arn}/${AWS::Region}/${!Four}"},
        "D": {"Fn::Sub": ["${Local}", {"Local": {"Ref": "Five"}}]},
    }
    assert references(value) == {"One", "Two", "Three", "AWS::Region", "Five"}
