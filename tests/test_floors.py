"""No floor names a higher one in the ways import-linter cannot see: a model label (``apps.get_model``, a
``ForeignKey("wagtail_newsletter.X")`` or any "wagtail_newsletter.X" string), a dotted task path
("wagtail_newsletter.<floor>.…") or a reversed URL name whose view sits on a higher floor.

The floors are read from the import-linter contract in setup.cfg, so the two checks share one list
(docs/developers/architecture.md). Python imports themselves are import-linter's (``lint-imports`` in scripts/test).
"""

import ast
import configparser
import re
from pathlib import Path

from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver

import wagtail_newsletter

PACKAGE = Path(wagtail_newsletter.__file__).parent
APP = "wagtail_newsletter"
CONTRACT = "importlinter:contract:floors"
# The checkout's, also when the package under test is an installed wheel (tox -e wheel).
SETUP_CFG = Path(__file__).resolve().parent.parent / "setup.cfg"


def read_floors(setup_cfg=SETUP_CFG):
    """{floor module: (height, independent layer)} from the contract's ``layers`` (listed top floor first)."""
    config = configparser.ConfigParser()
    config.read(setup_cfg)
    layers = [line.strip() for line in config[CONTRACT]["layers"].splitlines() if line.strip()]
    floors = {}
    for height, layer in enumerate(reversed(layers)):
        independent = ":" not in layer
        for name in re.split(r"[|:]", layer):
            floors[name.strip().strip("()")] = (height, independent)
    return floors


def floor_of_module(dotted):
    """ "wagtail_newsletter.send.worker" -> "send"; None outside the package."""
    parts = dotted.split(".")
    return parts[1] if parts[0] == APP and len(parts) > 1 else None


def model_floors():
    """{lower-case model name: floor of the module defining it}."""
    return {
        model._meta.model_name: floor_of_module(model.__module__) for model in apps.get_app_config(APP).get_models()
    }


def url_floors():
    """{"namespace:name": floor of its view} for the site's URL names whose view is in the package."""
    found = {}

    def walk(patterns, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                view = getattr(pattern.callback, "view_class", pattern.callback)
                floor = floor_of_module(view.__module__)
                if floor:
                    found[namespace + pattern.name] = floor

    walk(get_resolver().url_patterns, "")
    return found


def _literal_or_pattern(node):
    """A constant string, or an f-string as a regular expression (its values match anything); else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value, None
    if isinstance(node, ast.JoinedStr):
        parts = [re.escape(part.value) if isinstance(part, ast.Constant) else ".+" for part in node.values]
        return None, re.compile("".join(parts))
    return None, None


def named_floors(tree, models, urls, floors):
    """(line, what, floor named) for every model label, task path and reversed URL name in ``tree``."""
    model_label = re.compile(rf"^{APP}\.(\w+)$")
    task_path = re.compile(rf"^{APP}\.(\w+)\.")
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            label = model_label.match(node.value)
            if label and label.group(1).lower() in models:
                yield node.lineno, node.value, models[label.group(1).lower()]
            path = task_path.match(node.value)
            if path and path.group(1) in floors:
                yield node.lineno, node.value, path.group(1)
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name == "get_model" and len(node.args) == 2:  # apps.get_model("wagtail_newsletter", "Event")
            app, model = (_literal_or_pattern(arg)[0] for arg in node.args)
            if app == APP and model and model.lower() in models:
                yield node.lineno, f"{app}.{model}", models[model.lower()]
        elif name in ("reverse", "reverse_lazy"):
            literal, pattern = _literal_or_pattern(node.args[0])
            for url_name, floor in urls.items():
                if url_name == literal or (pattern is not None and pattern.fullmatch(url_name)):
                    yield node.lineno, f"URL {url_name}", floor


def upward_references(package=PACKAGE, floors=None):
    """ "path:line: what (floor) from floor" for each name of a higher floor (or of an independent sibling)."""
    floors = floors or read_floors()
    models, urls = model_floors(), url_floors()
    found = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package.parent)
        floor = floor_of_module(".".join(relative.with_suffix("").parts))
        if floor not in floors:  # the package's __init__
            continue
        height, independent = floors[floor]
        names = named_floors(ast.parse(path.read_text(), str(path)), models, urls, floors)
        for line, what, named in sorted(names, key=lambda item: item[0]):
            named_height, _independent = floors[named]
            if named_height > height or (named_height == height and named != floor and independent):
                found.append(f"{relative}:{line}: {what} ({named}) from {floor}")
    return found


def test_no_floor_names_a_higher_one():
    found = upward_references()
    assert not found, "names of a higher floor:\n" + "\n".join(found)


def test_the_contract_lists_every_floor_of_the_package():
    floors = read_floors()
    packages = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").exists()}
    modules = {path.stem for path in PACKAGE.glob("*.py") if path.stem != "__init__"}
    assert packages | modules <= set(floors)


def test_the_check_sees_each_way_of_naming_a_higher_floor(tmp_path):
    """A lower floor naming a higher one by a model label, get_model, a task path or a URL name is reported (and
    the same names from the floor itself are not)."""
    audience = tmp_path / APP / "audience"
    audience.mkdir(parents=True)
    (audience / "planted.py").write_text(
        "from django.apps import apps\n"
        "from django.urls import reverse\n"
        "def f(name):\n"
        '    apps.get_model("wagtail_newsletter", "Activity")\n'
        '    ForeignKey("wagtail_newsletter.Campaign")\n'
        '    enqueue("wagtail_newsletter.send.worker.send_campaign_task")\n'
        '    reverse("wagtail_newsletter:click", args=["t"])\n'
        '    reverse(f"wagtail_newsletter:{name}")\n'
        '    ForeignKey("wagtail_newsletter.Subscriber")\n'
        '    reverse("wagtail_newsletter:confirm", args=["t"])\n'
    )
    found = upward_references(tmp_path / APP, read_floors())
    assert found == [
        f"{APP}/audience/planted.py:4: {APP}.Activity (track) from audience",
        f"{APP}/audience/planted.py:5: {APP}.Campaign (send) from audience",
        f"{APP}/audience/planted.py:6: {APP}.send.worker.send_campaign_task (send) from audience",
        f"{APP}/audience/planted.py:7: URL {APP}:click (track) from audience",
    ] + [
        f"{APP}/audience/planted.py:8: URL {APP}:{name} ({floor}) from audience"
        for name, floor in [("unsubscribe", "track"), ("preferences", "growth")]
        + [(name, "track") for name in ("open", "click", "web_version")]
        + [("test_web_version", "send")]
    ]
