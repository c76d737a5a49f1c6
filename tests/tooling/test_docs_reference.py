"""The generated documentation is current, and the pages hold together.

* docs/reference/ is what scripts/docs-reference renders from the modules' documentation now;
* the example playbooks shown in the pages are the files of docs/examples/;
* every YAML block of the pages that is a play is such an example (so tests/integration/docs/test_docs.py
  runs it), every other YAML block parses, every example file is shown somewhere;
* relative links and their anchors resolve;
* the changelog fragments lint, and CHANGELOG.rst is what scripts/changelog renders.
"""
import importlib.util
import os
import re

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _load_docs_build():
    spec = importlib.util.spec_from_file_location("docs_build", os.path.join(ROOT, "scripts", "docs_build.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


docs_build = _load_docs_build()
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[A-Za-z0-9_-]*)\n(?P<body>.*?)^(?P=indent)```$", re.M | re.S)
MARKER = re.compile(r"<!-- (example: [^ ]+|not-run: [^>]+) -->\n$")


def _stale_message(problems, extra, command):
    shown = "\n".join(diff[:3000] for path, diff in problems[:3])
    names = [path for path, diff in problems] + list(extra)
    return "%s stale (what they are generated from changed). Regenerate with:\n\n    %s\n\nand commit the result.\n%s" % (
        ", ".join(names), command, shown)


def _read(rel):
    with open(os.path.join(ROOT, rel)) as handle:
        return handle.read()


def all_pages():
    """Every Markdown page: README.md, docs/ with the generated reference."""
    pages = list(docs_build.markdown_pages())
    reference = docs_build.REFERENCE_DIR
    if os.path.isdir(reference):
        pages += sorted(os.path.relpath(os.path.join(reference, f), ROOT) for f in os.listdir(reference)
                        if f.endswith(".md"))
    return pages


def test_module_reference_is_current():
    files = docs_build.reference_files()
    assert sorted(files) == sorted(["docs/reference/README.md"] + ["docs/reference/%s.md" % m
                                                                   for m in docs_build.module_names()])
    problems = docs_build.stale(files)
    extra = docs_build.extra_reference_files(files)
    assert not problems and not extra, _stale_message(problems, extra, docs_build.REFERENCE_COMMAND)


def test_reference_pages_document_every_option():
    """A cross-check of the renderer: every option and return value of every module has its anchor."""
    docs = docs_build.ansible_doc(docs_build.module_names())
    for fqcn, data in docs.items():
        page = _read("docs/reference/%s.md" % fqcn.split(".")[-1])

        def walk(options, path, kind, children):
            for name, spec in options.items():
                anchor = docs_build.anchor_id(kind, path + [name])
                assert '<a id="%s"></a>' % anchor in page, (fqcn, anchor)
                walk(spec.get(children) or {}, path + [name], kind, children)

        walk(data["doc"].get("options") or {}, [], "option", "suboptions")
        walk(data.get("return") or {}, [], "return", "contains")
        assert data["examples"].strip() in page, fqcn


def test_pages_show_the_current_examples():
    stale_pages = docs_build.page_files()
    assert not stale_pages, _stale_message([(p, "") for p in sorted(stale_pages)], [], docs_build.REFERENCE_COMMAND)


def _yaml_blocks(page):
    text = _read(page)
    for match in FENCE.finditer(text):
        if match.group("lang") not in ("yaml", "yml"):
            continue
        before = text[:match.start()]
        marker = MARKER.search(before[-300:])
        yield match.group("body"), marker.group(1) if marker else None


def _is_play_list(data):
    return isinstance(data, list) and any(isinstance(p, dict) and ("hosts" in p or "import_playbook" in p)
                                          for p in data)


@pytest.mark.parametrize("page", docs_build.markdown_pages())
def test_every_playbook_in_the_docs_is_a_tested_example(page):
    for body, marker in _yaml_blocks(page):
        if marker and marker.startswith("not-run:"):
            continue
        data = yaml.safe_load(body)  # every YAML block parses
        if marker is None:
            assert not _is_play_list(data), (
                "%s shows a playbook that no test runs:\n%s\nPut it in docs/examples/NAME.yml, show it with "
                "<!-- example: docs/examples/NAME.yml --> ... <!-- /example --> (scripts/docs-reference fills the "
                "block) and add it to DOC_PLAYBOOKS in tests/integration/docs/test_docs.py; or, if it cannot run, mark it "
                "<!-- not-run: why -->." % (page, body[:400]))


def test_every_example_is_shown_and_exists():
    shown = set()
    for page in docs_build.markdown_pages():
        for match in docs_build.EXAMPLE_BLOCK.finditer(_read(page)):
            path = match.group("path")
            assert os.path.isfile(os.path.join(ROOT, path)), "%s shows %s, which does not exist" % (page, path)
            shown.add(path)
    examples = sorted("docs/examples/%s" % f for f in os.listdir(os.path.join(ROOT, "docs", "examples"))
                      if f.endswith((".yml", ".yaml")))
    assert [e for e in examples if e not in shown] == [], "example files no page shows"


def github_anchor(heading):
    """The id GitHub gives a Markdown heading."""
    text = re.sub(r"<[^>]+>", "", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page):
    text = _read(page)
    text = FENCE.sub("", text)
    found = set(github_anchor(h) for h in re.findall(r"^#{1,6} (.+)$", text, re.M))
    found.update(re.findall(r'<a id="([^"]+)"></a>', text))
    return found


@pytest.mark.parametrize("page", all_pages())
def test_links_resolve(page):
    text = FENCE.sub("", _read(page))
    text = re.sub(r"`[^`\n]*`", "", text)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+:", target):
            continue
        path, dummy, anchor = target.partition("#")
        full = os.path.normpath(os.path.join(ROOT, os.path.dirname(page), path)) if path else os.path.join(ROOT, page)
        if not os.path.exists(full):
            broken.append(target)
        elif anchor and full.endswith(".md") and anchor not in anchors(os.path.relpath(full, ROOT)):
            broken.append(target)
    assert broken == [], "%s: broken links %s" % (page, broken)


def test_readme_keeps_the_two_commands_first():
    lines = _read("README.md").splitlines()
    assert lines[:6] == [
        "# vmchannels.vsphere", "", "```bash",
        "scripts/main-job    # the main job: configure the VMs, then audit them (an embedded vCenter simulator when "
        "VMWARE_HOST is unset)",
        "scripts/test        # every test: unit, integration against the simulator, ansible-lint, ansible-test "
        "sanity, build, docs",
        "```"]


def test_changelog_fragments_lint():
    ok, output = docs_build.changelog_lint()
    assert ok, "antsibull-changelog lint:\n%s\n(fix the fragment, then run %s)" % (output, docs_build.CHANGELOG_COMMAND)


def test_changelog_is_current():
    rendered = docs_build.render_changelog()
    problems = docs_build.stale({"CHANGELOG.rst": rendered})
    assert not problems, _stale_message(problems, [], docs_build.CHANGELOG_COMMAND)
    for module in docs_build.module_names():
        assert "%s.%s" % (docs_build.COLLECTION, module) in rendered, "new module %s not in CHANGELOG.rst" % module
