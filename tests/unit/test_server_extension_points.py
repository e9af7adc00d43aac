"""The server layer (shop_common/gunicorn_worker.py) extends gevent and gunicorn by their public names only.

A name with a leading underscore is private to its library: any release may rename it or change
what it does, silently. So the worker classes override none of their bases' private methods or
attributes, the module assigns no private attribute of anything, nor any attribute of a module of
gevent or gunicorn (``gunicorn.http.wsgi.SERVER`` was one).
"""

import ast
import inspect

import gunicorn.http.wsgi
import pytest

from shop_common import gunicorn_worker
from shop_common.gunicorn_worker import IdleLimitedHandler, NamingNoSoftware, PyWSGIWorker, ThreadWorker

LIBRARIES = ("gevent", "gunicorn")
SOURCE = ast.parse(inspect.getsource(gunicorn_worker))


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


def test_the_module_assigns_no_private_attribute():
    assigned = [
        (node.lineno, node.attr)
        for node in ast.walk(SOURCE)
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store | ast.Del) and private(node.attr)
    ]
    assert assigned == []


def test_the_module_sets_no_attribute_of_a_module_of_gevent_or_gunicorn():
    modules = {
        name
        for name, value in vars(gunicorn_worker).items()
        if inspect.ismodule(value) and value.__name__.split(".")[0] in LIBRARIES
    }
    assert "gunicorn_wsgi" in modules and "gevent" in modules, modules
    assigned = [
        (node.lineno, ast.unparse(node))
        for node in ast.walk(SOURCE)
        if isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Store | ast.Del)
        and isinstance(node.value, ast.Name)
        and node.value.id in modules
    ]
    assert assigned == []


def test_nothing_calls_setattr_on_a_library():
    calls = [
        node.lineno
        for node in ast.walk(SOURCE)
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
    assert seen["version"] == gunicorn_worker.SERVER_HEADER
