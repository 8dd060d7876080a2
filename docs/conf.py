"""Sphinx configuration of the airflow-provider-cellcast docs site (``bash scripts/docs``).

The reference pages are written by autodoc from the docstrings (reST with ``:param:``, ``:class:``
and ``.. code-block:: python``); the other pages are Markdown (MyST). ``scripts/docs`` builds with
``-W --keep-going -n``: every warning fails the build, broken internal links and cross-references
included. Names from outside the provider (Airflow, the standard library, requests...) cannot be
resolved offline (no intersphinx: the build has no internet), so ``nitpick_ignore_regex`` lists
them; names of the provider itself must resolve.

Three checks keep the prose pages honest against the code; each reports a warning, so a failure
fails the build:

* every file in ``dags/`` is shown on the examples page;
* every error text quoted in a heading of the troubleshooting page still occurs in the package's
  source (``...`` stands for the variable parts);
* pages that another branch adds (:data:`OPTIONAL_PAGES`) are left out of the table of contents
  until their file exists, instead of failing the build.
"""

from __future__ import annotations

import ast
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
PACKAGE = REPO / "airflow_provider_cellcast"

# Importing Airflow writes an airflow.cfg into $AIRFLOW_HOME (default ~/airflow): scripts/docs sets
# a throwaway one; a direct sphinx-build gets one here.
if "AIRFLOW_HOME" not in os.environ:
    import tempfile

    os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="cellcast-docs-airflow-")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
logging.getLogger("airflow").setLevel(logging.WARNING)  # no "Reading the config from ..." in the build output

import airflow_provider_cellcast  # noqa: E402 (after AIRFLOW_HOME)

# -- Project -------------------------------------------------------------------------------------
project = "airflow-provider-cellcast"
author = "airflow-provider-cellcast developers"
copyright = "the airflow-provider-cellcast developers, Apache License 2.0"
release = airflow_provider_cellcast.__version__
version = ".".join(release.split(".")[:2])

# -- General -------------------------------------------------------------------------------------
extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
nitpicky = True
# Sphinx's default, stated: warnings are errors only through scripts/docs (-W).
suppress_warnings: list[str] = []

myst_enable_extensions = ["colon_fence", "deflist"]
# `[text](page.md#a-heading)` links to headings of levels 1-3 resolve and are checked.
myst_heading_anchors = 3

# -- autodoc -------------------------------------------------------------------------------------
autodoc_member_order = "bysource"
# Types next to each documented parameter (merged with its :param: text); the signature keeps the
# names and defaults.
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented"
autodoc_preserve_defaults = True
# Only our own docstrings: a method without one (execute, poke...) is not shown with Airflow's text.
autodoc_inherit_docstrings = False
autodoc_default_options = {"show-inheritance": True}

# Names that cannot be resolved and are not errors, and only those:
# - the provider's internal modules (rules, envelopes, pacing, progress, the client beneath the hook):
#   their types appear in signatures, their pages are not part of the user documentation;
# - external names in signatures, base classes and docstrings: no intersphinx (no internet).
_INTERNAL = r"(envelope|statuses|progress|validation|texts|ratelimit|shared_ratelimit|contacts|client|_compat)"
nitpick_ignore_regex = [
    (r"py:.*", rf"airflow_provider_cellcast\.{_INTERNAL}(\..*)?"),
    (r"py:.*", r"(airflow|requests|urllib3|tenacity|pendulum|redis|pyrate_limiter|fastapi|starlette)(\..*)?"),
    (r"py:.*", r"(typing|collections|collections\.abc|datetime|concurrent|threading|pathlib|enum)\..*"),
    (r"py:.*", r"(Any|Callable|ClassVar|Literal|Mapping|MutableMapping|Sequence|Collection|Iterable|Iterator)"),
    (r"py:.*", r"(AsyncIterator|TypedDict|Protocol|NamedTuple|Self|TypeVar|Generic|Awaitable)"),
    (r"py:.*", r"(datetime|timedelta|Path|Context|Session|Response|PreparedRequest|Connection|Event)"),
    (r"py:(class|exc|obj)", r"(AirflowException|AirflowFailException|BaseOperator|BaseSensorOperator)"),
    (r"py:(class|exc|obj)", r"(BaseHook|HttpHook|BaseNotifier|BaseTrigger|TriggerEvent|PokeReturnValue)"),
    (r"py:(class|exc|obj)", r"(ValueError|TypeError|Exception|RuntimeError|KeyError|str|int|float|bool|dict)"),
    (r"py:(class|exc|obj)", r"(list|tuple|set|frozenset|bytes|None|object|type)"),
    # The client's own protocols and results, named by their short names in its signatures.
    (r"py:.*", r"(transport\.)?(Transport|RequestsTransport|AsyncTransport|Pacer|AsyncPacer|Plan|T)"),
    (r"py:.*", r"(CancelAttempt|CancelResult|CancelOutcomes|SendResult|Outcome|StatusCheck|StatusRules)"),
    (r"py:.*", r"(Envelope|ApiRequest|HttpRequest|HttpResponse|ProgressStore|InvalidContact|CellcastSettings)"),
]

# -- HTML ----------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"airflow-provider-cellcast {release}"
html_short_title = "airflow-provider-cellcast"
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None

# -- Checks and optional pages -------------------------------------------------------------------

#: Pages written on other branches: their toctree entry is kept, and dropped while the file is
#: missing (so the site builds before and after the merge that brings them).
OPTIONAL_PAGES = {"emulator": DOCS / "emulator.md"}

_TOCTREE_LINE = re.compile(r"^(?P<name>[\w/-]+)\s*$")


def _drop_missing_optional_pages(app: Any, docname: str, source: list[str]) -> None:
    if docname != root_doc:
        return
    missing = {name for name, path in OPTIONAL_PAGES.items() if not path.exists()}
    if not missing:
        return
    from sphinx.util import logging

    logging.getLogger(__name__).info("optional page(s) not present yet, left out of the toctree: %s", missing)
    lines = source[0].splitlines(keepends=True)
    source[0] = "".join(
        line for line in lines if not ((m := _TOCTREE_LINE.match(line.strip())) and m["name"] in missing)
    )


def _package_texts() -> list[str]:
    """Every string literal of the package (f-strings with ``\x00`` for their variable parts)."""
    texts: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "emulator" in path.relative_to(PACKAGE).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                texts.append(node.value)
            elif isinstance(node, ast.JoinedStr):
                texts.append(
                    "".join(
                        part.value if isinstance(part, ast.Constant) and isinstance(part.value, str) else "\x00"
                        for part in node.values
                    )
                )
    return texts


_QUOTED_HEADING = re.compile(r"^#{2,4}\s+`(?P<text>[^`]+)`", re.MULTILINE)


def _fragment_pattern(fragment: str) -> re.Pattern[str]:
    """``...`` matches any text, and any variable part of an f-string."""
    parts = [re.escape(part) for part in re.split(r"\s*(?:\.\.\.|…)\s*", fragment.strip()) if part]
    return re.compile(r"[\s\S]*?".join(parts))


def _check_troubleshooting(app: Any, env: Any) -> None:
    from sphinx.util import logging

    log = logging.getLogger(__name__)
    page = DOCS / "troubleshooting.md"
    texts = _package_texts()
    for match in _QUOTED_HEADING.finditer(page.read_text()):
        pattern = _fragment_pattern(match["text"])
        if not any(pattern.search(text) for text in texts):
            line = page.read_text()[: match.start()].count("\n") + 1
            log.warning(
                "troubleshooting: no string in airflow_provider_cellcast/ contains %r any more: update the entry",
                match["text"],
                location=("troubleshooting", line),
            )


def _check_examples(app: Any, env: Any) -> None:
    from sphinx.util import logging

    log = logging.getLogger(__name__)
    page = (DOCS / "examples.md").read_text()
    for dag_file in sorted((REPO / "dags").glob("*.py")):
        if f"../dags/{dag_file.name}" not in page:
            log.warning("examples: dags/%s is not shown on the examples page", dag_file.name, location="examples")


def _resolve_short_names(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """Resolve ``:class:`CellcastFoo``` written without its module, when one provider object has that name.

    Docstrings name classes of other modules by their short name now and then; Sphinx looks such
    a name up only in the current module. A name that matches no documented object, or several,
    stays unresolved, and the nitpicky build reports it.
    """
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip("~.")
    if "." in target and not target.startswith("Cellcast"):
        return None
    domain = env.get_domain("py")
    suffix = "." + target
    candidates = [
        name
        for name in domain.objects
        if name.startswith("airflow_provider_cellcast.") and (name.endswith(suffix) or name == target)
    ]
    if len(candidates) != 1:
        return None
    obj = domain.objects[candidates[0]]
    from sphinx.util.nodes import make_refnode

    return make_refnode(app.builder, node["refdoc"], obj.docname, obj.node_id, contnode, candidates[0])


def setup(app: Any) -> dict[str, Any]:
    app.connect("source-read", _drop_missing_optional_pages)
    app.connect("env-check-consistency", _check_troubleshooting)
    app.connect("env-check-consistency", _check_examples)
    app.connect("missing-reference", _resolve_short_names)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


# Keep `python docs/conf.py` harmless.
if __name__ == "__main__":  # pragma: no cover
    sys.exit("docs/conf.py is Sphinx's configuration: run bash scripts/docs")
