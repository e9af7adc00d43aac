"""The server layer (shop_common/gunicorn_worker.py, thread_worker.py, worker_common.py) extends gevent and
gunicorn by their public names only.

A name with a leading underscore is private to its library: any release may rename it or change
what it does, silently. So the worker classes override none of their bases' private methods or
attributes, the modules assign no private attribute of anything, nor any attribute of a module of
gevent or gunicorn (``gunicorn.http.wsgi.SERVER`` was one).
"""

import ast
import inspect
import subprocess
import sys

import gunicorn.http.wsgi
import pytest

from shop_common import gunicorn_worker, thread_worker, worker_common
from shop_common.gunicorn_worker import IdleLimitedHandler, PyWSGIWorker
from shop_common.thread_worker import NamingNoSoftware, ThreadWorker

LIBRARIES = ("gevent", "gunicorn")
MODULES = [gunicorn_worker, thread_worker, worker_common]
SOURCES = {module.__name__: ast.parse(inspect.getsource(module)) for module in MODULES}


def private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def library_bases(cls):
    return [base for base in cls.__mro__[1:] if base.__module__.split(".")[0] in LIBRARIES]


@pytest.mark.parametrize("cls", [IdleLimitedHandler, PyWSGIWorker, ThreadWorker])
def test_no_private_name_of_a_base_is_overridden(cls):
    bases = library_bases(cls)
    assert bases, f"{cls.__name__} extends gevent or gunicorn"
    theirs = {name for base in bases for name in vars(base) if private(name)}
    assert theirs, "the bases do have private names to avoid"
    mine = {name for name in vars(cls) if private(name)}
    assert not mine & theirs and not mine, f"{cls.__name__} defines private names {sorted(mine)}"


@pytest.mark.parametrize("module", MODULES, ids=lambda module: module.__name__)
def test_the_module_assigns_no_private_attribute(module):
    assigned = [
        (node.lineno, node.attr)
        for node in ast.walk(SOURCES[module.__name__])
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store | ast.Del) and private(node.attr)
    ]
    assert assigned == []


@pytest.mark.parametrize(
    ("module", "imported"),
    [
        (gunicorn_worker, {"gevent", "monkey"}),
        (thread_worker, {"gunicorn_wsgi", "util"}),
        (worker_common, {"http_errors"}),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_the_module_sets_no_attribute_of_a_module_of_gevent_or_gunicorn(module, imported):
    modules = {
        name
        for name, value in vars(module).items()
        if inspect.ismodule(value) and value.__name__.split(".")[0] in LIBRARIES
    }
    assert imported <= modules, modules
    assigned = [
        (node.lineno, ast.unparse(node))
        for node in ast.walk(SOURCES[module.__name__])
        if isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Store | ast.Del)
        and isinstance(node.value, ast.Name)
        and node.value.id in modules
    ]
    assert assigned == []


@pytest.mark.parametrize("module", MODULES, ids=lambda module: module.__name__)
def test_nothing_calls_setattr_on_a_library(module):
    calls = [
        node.lineno
        for node in ast.walk(SOURCES[module.__name__])
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("setattr", "delattr")
    ]
    assert calls == []


def test_the_server_header_is_set_on_gunicorns_response_by_its_public_attribute():
    """gunicorn writes ``Response.version`` as the Server header: if a release renames it, this says so."""
    response = gunicorn.http.wsgi.Response(req=None, sock=None, cfg=None)
    assert response.version == gunicorn.http.wsgi.SERVER
    seen = {}

    def app(environ, start_response):
        seen["version"] = start_response.__self__.version
        return []

    NamingNoSoftware(app)({}, response.start_response)
    assert seen["version"] == thread_worker.SERVER_HEADER


def test_the_thread_workers_modules_import_nothing_of_gevent():
    """The user service's processes run gunicorn's gthread worker: gevent would cost each 2.9 MiB."""
    code = "import sys, shop_common.thread_worker; print(sorted(m for m in sys.modules if m.split('.')[0] == 'gevent'))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_thread_worker_is_still_named_where_it_was():
    """``shop_common.gunicorn_worker.ThreadWorker``, the name a setting or a test may still give."""
    assert gunicorn_worker.ThreadWorker is ThreadWorker
