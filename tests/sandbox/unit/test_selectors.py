"""Label and field selectors, checked against k8s.io/apimachinery behaviour."""

from __future__ import annotations

import pytest

from helpers.sandbox.apiserver.selectors import (
    FieldSelector,
    LabelSelector,
    SelectorError,
    field_value,
    format_selector,
    label_key_errors,
    label_value_errors,
    parse_field_selector,
    parse_label_selector,
    requirement,
    selector_from_spec,
)

WEB = {"app": "web", "tier": "fe", "pod-template-hash": "5d59d67564"}

# --------------------------------------------------------------------------------------------
# parse_label_selector


@pytest.mark.parametrize("text,labels,expected", [
    ("app=web", WEB, True),
    ("app==web", WEB, True),
    ("app=db", WEB, False),
    ("app!=db", WEB, True),
    ("app!=web", WEB, False),
    ("missing!=x", WEB, True),  # != matches when the label is absent
    ("app in (web,db)", WEB, True),
    ("app in (db)", WEB, False),
    ("app notin (db)", WEB, True),
    ("app notin (web, db)", WEB, False),
    ("missing notin (x)", WEB, True),
    ("missing in (x)", WEB, False),
    ("app", WEB, True),
    ("missing", WEB, False),
    ("!missing", WEB, True),
    ("!app", WEB, False),
    ("app=web,tier=fe", WEB, True),
    ("app=web,tier=be", WEB, False),
    ("  app = web ,  tier in ( fe , be ) ", WEB, True),
    ("kubernetes.io/service-name=web", {"kubernetes.io/service-name": "web"}, True),
    ("app=", {"app": ""}, True),
    ("app=", {}, False),
    ("rev>2", {"rev": "3"}, True),
    ("rev>2", {"rev": "2"}, False),
    ("rev<2", {"rev": "-1"}, True),
    ("rev>2", {"rev": "x"}, False),
    ("rev<2", {}, False),
    ("", WEB, True),
    ("", {}, True),
    ("in in (in)", {"in": "in"}, True),  # keywords are values in value position
])
def test_label_selector_matching(text, labels, expected):
    assert parse_label_selector(text).matches(labels) is expected


def test_matches_none_labels_as_empty():
    assert parse_label_selector("!app").matches(None)
    assert not parse_label_selector("app").matches(None)
    assert parse_label_selector("").matches(None)


@pytest.mark.parametrize("text,canonical", [
    ("app=web", "app=web"),
    ("tier=fe,app=web", "app=web,tier=fe"),  # sorted by key
    ("app==web", "app==web"),
    ("app!=web", "app!=web"),
    ("env in (prod, dev)", "env in (dev,prod)"),  # values sorted
    ("env notin (b,a,b)", "env notin (a,b)"),  # and deduplicated
    ("x in (foo,,baz),y,z notin ()", "x in (,baz,foo),y,z notin ()"),  # Go's doc example
    ("!a", "!a"),
    ("a>1,b<2", "a>1,b<2"),
    ("  app  ", "app"),
    ("", ""),
])
def test_label_selector_canonical_string(text, canonical):
    sel = parse_label_selector(text)
    assert str(sel) == canonical
    assert parse_label_selector(str(sel)) == sel


def test_empty_property():
    assert parse_label_selector("").empty
    assert parse_label_selector(None).empty
    assert not parse_label_selector("a").empty
    assert LabelSelector.everything().empty
    assert not LabelSelector.match_nothing().empty


@pytest.mark.parametrize("text,message", [
    ("a=b c", "found 'c', expected: ',' or 'end of string'"),
    ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
    ("a in x", "unable to parse requirement: found 'x' expected: '('"),
    ("a in (x", "unable to parse requirement: found '', expected: ',' or ')'"),
    ("a in (x y)", "unable to parse requirement: found 'y', expected: ',' or ')'"),
    (",a", "found ',', expected: !, identifier, or 'end of string'"),
    ("a,", "found '', expected: identifier after ','"),
    ("=a", "found '=', expected: !, identifier, or 'end of string'"),
    ("a=(b", "unable to parse requirement: found '(', expected: identifier"),
    ("!a=b", "found '=', expected: ',' or 'end of string'"),
    ("a==b==c", "found '==', expected: ',' or 'end of string'"),
    ("a>x", "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' "
            "operators, the value must be an integer"),
])
def test_label_selector_syntax_errors(text, message):
    with pytest.raises(SelectorError) as err:
        parse_label_selector(text)
    assert str(err.value) == message


def test_label_selector_invalid_key_message():
    with pytest.raises(SelectorError) as err:
        parse_label_selector("-app=web")
    assert str(err.value) == (
        'unable to parse requirement: <nil>: Invalid value: "-app": name part must consist of '
        "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
        "character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
        "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")


def test_label_selector_invalid_value_message():
    with pytest.raises(SelectorError) as err:
        parse_label_selector("app=-web")
    assert str(err.value).startswith(
        'unable to parse requirement: values[0][app]: Invalid value: "-web": a valid label must '
        "be an empty string or consist of alphanumeric characters")


@pytest.mark.parametrize("bad", ["Example.com/a", "/a", "a/", "a/b/c", "x" * 64,
                                 "a" * 254 + "/b", "a_"])
def test_invalid_label_keys(bad):
    assert label_key_errors(bad)
    with pytest.raises(SelectorError):
        parse_label_selector(bad)


@pytest.mark.parametrize("good", ["a", "A.b-c_d", "example.com/name", "k8s.io/x",
                                  "x" * 63, "a.b/" + "c" * 63])
def test_valid_label_keys(good):
    assert label_key_errors(good) == []
    assert parse_label_selector(good).matches({good: ""})


def test_label_value_validation():
    assert label_value_errors("") == []
    assert label_value_errors("v1.2_3-a") == []
    assert label_value_errors("x" * 64) == ["must be no more than 63 characters"]
    assert label_value_errors("a b")
    assert label_value_errors("_a")


def test_requires_exact_match():
    sel = parse_label_selector("app=web,tier in (fe),x in (a,b),y!=z")
    assert sel.requires_exact_match("app") == "web"
    assert sel.requires_exact_match("tier") == "fe"
    assert sel.requires_exact_match("x") is None
    assert sel.requires_exact_match("y") is None
    assert sel.requires_exact_match("nope") is None


# --------------------------------------------------------------------------------------------
# selector_from_spec / format_selector


def test_nil_selector_matches_nothing_empty_matches_everything():
    nothing = selector_from_spec(None)
    assert not nothing.matches(WEB)
    assert not nothing.matches({})
    assert not nothing.empty
    everything = selector_from_spec({})
    assert everything.matches(WEB) and everything.matches({}) and everything.empty
    assert selector_from_spec({"matchLabels": {}, "matchExpressions": []}).empty


def test_selector_from_spec_match_labels_and_expressions():
    spec = {"matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["fe", "be"]},
                {"key": "track", "operator": "NotIn", "values": ["canary"]},
                {"key": "pod-template-hash", "operator": "Exists"},
                {"key": "legacy", "operator": "DoesNotExist"}]}
    sel = selector_from_spec(spec)
    assert sel.matches(WEB)
    assert not sel.matches({**WEB, "track": "canary"})
    assert not sel.matches({**WEB, "legacy": "1"})
    assert not sel.matches({"app": "web", "tier": "fe"})
    assert not sel.matches({**WEB, "tier": "db"})
    assert str(sel) == ("app=web,!legacy,pod-template-hash,tier in (be,fe),"
                        "track notin (canary)")


@pytest.mark.parametrize("spec,message", [
    ({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]},
     '"Gt" is not a valid label selector operator'),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]},
     "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be "
     "empty"),
    ({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
     'values: Invalid value: []string{"x"}: values set must be empty for exists and does not '
     "exist"),
    ({"matchLabels": {"bad key": "v"}},
     'key: Invalid value: "bad key": name part must consist of alphanumeric characters'),
    ({"matchLabels": {"app": "bad value"}},
     'values[0][app]: Invalid value: "bad value": a valid label must be'),
])
def test_selector_from_spec_errors(spec, message):
    with pytest.raises(SelectorError) as err:
        selector_from_spec(spec)
    assert str(err.value).startswith(message)


def test_format_selector_like_scale_status():
    spec = {"matchLabels": {"pod-template-hash": "5d59d67564", "app": "web"}}
    assert format_selector(spec) == "app=web,pod-template-hash=5d59d67564"
    spec = {"matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]},
                                 {"key": "canary", "operator": "DoesNotExist"}]}
    assert format_selector(spec) == "app=web,!canary,tier in (a,b)"  # sorted by key, not text
    assert format_selector({"matchLabels": {"app": "web"}}) == "app=web"
    assert format_selector({}) == ""
    assert format_selector(None) == ""
    assert format_selector({}, empty="<none>") == "<none>"


def test_formatted_selector_round_trips_through_parser():
    spec = {"matchLabels": {"app": "web", "pod-template-hash": "abc"},
            "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["x", "y"]}]}
    text = format_selector(spec)
    assert parse_label_selector(text) == selector_from_spec(spec)


def test_requirement_constructor_validates_arity():
    with pytest.raises(SelectorError, match="exact-match compatibility requires one single"):
        requirement("a", "=", ["x", "y"])
    with pytest.raises(SelectorError, match="Unsupported value"):
        requirement("a", "~", ["x"])
    assert requirement("a", "in", ["x", "y"]).matches({"a": "y"})


# --------------------------------------------------------------------------------------------
# Field selectors

POD = {"metadata": {"name": "web-1", "namespace": "demo"},
       "spec": {"nodeName": "sandbox", "hostNetwork": False},
       "status": {"phase": "Running"}}
EVENT = {"metadata": {"name": "web.1", "namespace": "demo"},
         "involvedObject": {"kind": "Deployment", "name": "web", "namespace": "demo",
                            "uid": "1234", "apiVersion": "apps/v1", "resourceVersion": "77",
                            "fieldPath": "spec.containers{nginx}"},
         "type": "Normal", "reason": "ScalingReplicaSet",
         "source": {"component": "deployment-controller"}}
NODE = {"metadata": {"name": "sandbox"}, "spec": {}}


@pytest.mark.parametrize("text,obj,expected", [
    ("metadata.name=web-1", POD, True),
    ("metadata.name==web-1", POD, True),
    ("metadata.name=web-2", POD, False),
    ("metadata.name!=web-2", POD, True),
    ("metadata.namespace=demo,metadata.name=web-1", POD, True),
    ("status.phase=Running", POD, True),
    ("status.phase!=Running", POD, False),
    ("spec.nodeName=sandbox", POD, True),
    ("spec.nodeName=", POD, False),
    ("spec.hostNetwork=false", POD, True),
    ("spec.unschedulable=false", NODE, True),  # unset booleans read "false"
    ("spec.unschedulable=true", {"spec": {"unschedulable": True}}, True),
    ("status.podIP=", POD, True),  # missing fields compare as ""
    ("status.podIP!=", POD, False),
    ("involvedObject.name=web,involvedObject.namespace=demo,involvedObject.uid=1234", EVENT,
     True),
    ("involvedObject.uid=1234,involvedObject.kind=Deployment,involvedObject.name=web,"
     "involvedObject.namespace=demo", EVENT, True),
    ("involvedObject.apiVersion=apps/v1,involvedObject.resourceVersion=77", EVENT, True),
    ("involvedObject.fieldPath=spec.containers{nginx}", EVENT, True),
    ("involvedObject.kind=Pod", EVENT, False),
    ("type=Normal,reason=ScalingReplicaSet", EVENT, True),
    ("source=deployment-controller", EVENT, True),
    ("", POD, True),
])
def test_field_selector_matching(text, obj, expected):
    assert parse_field_selector(text).matches(obj) is expected


def test_field_selector_term_order_is_irrelevant():
    a = parse_field_selector("involvedObject.uid=1,involvedObject.name=P,involvedObject."
                             "namespace=X")
    b = parse_field_selector("involvedObject.namespace=X,involvedObject.uid=1,"
                             "involvedObject.name=P")
    assert a == b
    assert str(a) == "involvedObject.name=P,involvedObject.namespace=X,involvedObject.uid=1"


def test_field_selector_requirements_are_exposed():
    sel = parse_field_selector("status.phase!=Failed,metadata.name==web")
    assert sel.requirements == [("metadata.name", "==", "web"), ("status.phase", "!=", "Failed")]
    assert sel.fields == {"metadata.name", "status.phase"}
    assert sel.requires_exact_match("metadata.name") == "web"
    assert sel.requires_exact_match("status.phase") is None
    assert str(sel) == "metadata.name=web,status.phase!=Failed"
    assert not sel.empty
    assert parse_field_selector("").empty and parse_field_selector(None).empty
    assert FieldSelector().matches(POD)


def test_field_selector_escapes():
    sel = parse_field_selector(r"metadata.name=a\,b\=c\\d")
    assert sel.requirements == [("metadata.name", "=", "a,b=c\\d")]
    assert sel.matches({"metadata": {"name": "a,b=c\\d"}})
    assert str(sel) == r"metadata.name=a\,b\=c\\d"
    assert parse_field_selector(str(sel)) == sel


@pytest.mark.parametrize("text,message", [
    ("metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name'"),
    ("a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'"),
    (r"a=b\x", r"invalid field selector: invalid escape sequence: \x"),
    ("a=b\\", "invalid field selector: invalid escape sequence: \\"),
    ("a=b=c", "invalid field selector: unescaped character in value: ="),
])
def test_field_selector_errors(text, message):
    with pytest.raises(SelectorError) as err:
        parse_field_selector(text)
    assert str(err.value) == message


def test_field_selector_skips_empty_terms_and_keeps_whitespace_like_go():
    assert parse_field_selector("a=b,,").requirements == [("a", "=", "b")]
    # Go does not trim: the field name keeps its space and so matches nothing real
    assert parse_field_selector("metadata.name =web-1").requirements == [
        ("metadata.name ", "=", "web-1")]


def test_field_value_rendering():
    obj = {"a": {"n": 3, "f": 2.0, "t": True, "m": {"x": 1}, "l": [1]}}
    assert field_value(obj, "a.n") == "3"
    assert field_value(obj, "a.f") == "2"
    assert field_value(obj, "a.t") == "true"
    assert field_value(obj, "a.m") == ""
    assert field_value(obj, "a.l") == ""
    assert field_value(obj, "a.missing.deeper") == ""
    assert field_value(obj, "a.n.deeper") == ""
