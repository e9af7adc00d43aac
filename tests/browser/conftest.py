"""Browser tier: Debian's Chromium (/usr/bin/chromium, never a browser Playwright downloads) driven by
Playwright for Python through the storefront of a throw-away stack, at a desktop size and at 375 px.

Each step is photographed into tests/browser/screenshots/<test>/ (gitignored, kept after the run),
and every page is checked with axe-core (npm, package-lock.json) for serious or critical violations.
"""

import re
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect, sync_playwright

from shop_common.settings import PROJECT_ROOT
from tests.stacks import ADMIN_PASSWORD, ADMIN_USERNAME, started_stack
from tests.support import CHROMIUM, CHROMIUM_ARGS

AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 740}}
# Short-lived access tokens, so a journey outlives several and the page must renew them.
ACCESS_TOKEN_TTL_SECONDS = 20

# name, price, stock, category: enough for two catalog pages of 12.
CATALOG = [
    *[(f"Mug {colour}", f"{8 + n}.50", 20, "kitchen") for n, colour in enumerate(("blue", "red", "green", "white"))],
    *[(f"Novel {n}", f"1{n}.99", 15, "books") for n in range(1, 7)],
    *[(f"Poster {n}", f"{20 + n}.00", 10, "prints") for n in range(1, 5)],
    ("Teapot", "24.00", 0, "kitchen"),
    ("Gift card", "25.00", 99, None),
]


@pytest.fixture(scope="session")
def stack():
    with started_stack("browser", {"ACCESS_TOKEN_TTL_SECONDS": str(ACCESS_TOKEN_TTL_SECONDS)}) as running:
        yield running


@pytest.fixture(scope="session")
def admin_token(stack):
    response = requests.post(
        stack.gateway + "/api/users/login", json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


@pytest.fixture(scope="session")
def catalog(stack, admin_token):
    """The products of :data:`CATALOG`, created through the API: ``{name: product}``."""
    created = {}
    for name, price, stock, category in CATALOG:
        body = {"name": name, "price": price, "stock": stock, "category": category}
        response = requests.post(
            stack.gateway + "/api/products", json=body, headers={"Authorization": f"Bearer {admin_token}"}, timeout=10
        )
        assert response.status_code == 201, response.text
        created[name] = response.json()
    return created


@pytest.fixture(scope="session")
def chromium():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request):
    return request.param


@pytest.fixture
def page(chromium, stack, catalog, viewport):
    """A fresh browser context (no cookies, no storage) at the viewport's size, on the storefront."""
    context = chromium.new_context(viewport=VIEWPORTS[viewport], base_url=stack.gateway)
    context.set_default_timeout(15_000)
    browser_page = context.new_page()
    errors = []
    browser_page.on("pageerror", lambda error: errors.append(str(error)))
    browser_page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    yield browser_page
    context.close()
    assert [error for error in errors if not _expected_console_error(error)] == []


def _expected_console_error(text):
    """A refused request the page handles itself (a declined card's 402, a 401 before a renewal, a 404 looked for)."""
    return bool(re.search(r"status of (4\d\d)", text))


class Steps:
    """Screenshots of each step under tests/browser/screenshots/<test>/, each page checked by axe-core."""

    def __init__(self, page, name):
        self.page = page
        self.folder = SCREENSHOTS / name
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.count = 0

    def __call__(self, step, check_accessibility=True):
        self.count += 1
        self.page.screenshot(path=str(self.folder / f"{self.count:02d}-{step}.png"), full_page=True)
        if check_accessibility:
            assert_accessible(self.page, step)
        assert_fits_the_width(self.page, step)


@pytest.fixture
def steps(page, request):
    return Steps(page, re.sub(r"[^\w.-]+", "_", request.node.name))


def assert_accessible(page, step):
    """axe-core finds no serious or critical violation on the page as it is now.

    The script is evaluated through the DevTools protocol, which the page's CSP does not govern
    (a <script> tag with it would rightly be refused).
    """
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    serious = [
        (violation["id"], violation["impact"], [node["target"] for node in violation["nodes"]][:3])
        for violation in result["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert serious == [], f"{step}: {serious}"


def assert_fits_the_width(page, step):
    """Nothing makes the page scroll sideways (at 375 px a phone would)."""
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{step}: {overflow} px wider than the window"


def prices(page):
    """The prices shown on the catalog's cards, as Decimals."""
    return [Decimal(text.strip().lstrip("$")) for text in page.get_by_test_id("product-price").all_inner_texts()]


def log_in(page, username, password):
    enter(page, "login", username, password)


def register(page, username, password):
    enter(page, "register", username, password)


def enter(page, form, username, password):
    """Fill the ``login`` or ``register`` form from its link, and wait until the page is logged in."""
    page.get_by_test_id(f"{form}-link").click()
    page.get_by_test_id("username-input").fill(username)
    page.get_by_test_id("password-input").fill(password)
    page.get_by_test_id("submit-button").click()
    expect(page.get_by_test_id("logout-button")).to_be_visible()
    expect(page.locator("#main")).not_to_have_attribute("data-page", f"/{form}")
    settled(page)


def settled(page):
    """Wait until the page has rendered what the last navigation asked for (``main`` not busy)."""
    expect(page.locator("#main")).to_have_attribute("aria-busy", "false")
