"""The services and shop_common keep every function short enough to read at a glance."""

import ast
import io
import tokenize

from shop_common.settings import PROJECT_ROOT

MAX_LINES_OF_CODE = 25
PACKAGES = (
    "shop_common",
    "api_gateway",
    "user_service",
    "customer_service",
    "product_service",
    "transaction_service",
    "payment_service",
    "payment_sandbox",
)


def lines_of_code(source, node):
    """Lines of ``node``'s body holding code: not blank, not a comment, not its docstring.

    The signature is not counted: the formatter writes a typed one a parameter a line.
    """
    docstring = node.body[0] if ast.get_docstring(node) is not None else None
    skipped = set(range(docstring.lineno, docstring.end_lineno + 1)) if docstring else set()
    text = "\n".join(source.splitlines()[node.lineno - 1 : node.end_lineno])
    skipped |= set(range(node.lineno, node.body[0].lineno))
    code_lines = {
        token.start[0] + node.lineno - 1
        for token in tokenize.generate_tokens(io.StringIO(text).readline)
        if token.type
        not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)
    }
    return len(code_lines - skipped)


def long_functions():
    for package in PACKAGES:
        for path in sorted((PROJECT_ROOT / package).glob("*.py")):
            source = path.read_text()
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    length = lines_of_code(source, node)
                    if length > MAX_LINES_OF_CODE:
                        yield f"{path.relative_to(PROJECT_ROOT)}:{node.lineno} {node.name} ({length} lines)"


def test_no_function_is_longer_than_25_lines_of_code():
    assert list(long_functions()) == []


def test_the_count_leaves_out_docstrings_comments_and_blank_lines():
    source = (
        'def f(\n    a,\n):\n    """Doc\n    string."""\n    # comment\n\n    x = a\n    return (x +\n            1)\n'
    )
    assert lines_of_code(source, ast.parse(source).body[0]) == 3
