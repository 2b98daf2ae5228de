"""The origin page and the API docs as people see them: Debian's headless Chromium, driven
by Playwright (no browser download), against the app served by uvicorn on a free port.

A shopper scans the QR with a phone: anonymous, a 390 by 844 window, JavaScript off. The
screenshots are kept in the test's tmp folder, and their paths are in the test's output
(and its JUnit properties).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, Route, async_playwright

from app.core.config import Settings
from tests.public.conftest import MEMBERS_TOTAL, MEMBERS_WOMEN, Traced
from tests.utils.server import served

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.slow


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    assert shutil.which(CHROMIUM), "needs Debian's chromium (.ci/run installs it)"
    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        await chromium.close()


@pytest.fixture
def base_url(settings: Settings) -> Iterator[str]:
    with served(settings) as url:
        yield url


async def _phone_page(browser: Browser, language: str) -> Page:
    context = await browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        java_script_enabled=False,
        locale=language,
        extra_http_headers={"Accept-Language": language},
    )
    return await context.new_page()


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "es-EC",
            [
                "Queso fresco de Mulaló",
                "Quién lo produjo",
                "Asociación Sabores de Mulaló",
                f"{MEMBERS_TOTAL} socios, {MEMBERS_WOMEN} son mujeres",
                "Agroecológico",
                "Registro sanitario ARCSA 12345-ALN-0323",
                "Controlado a la llegada: 4,0 °C",
            ],
        ),
        (
            "en-US",
            [
                "Queso fresco de Mulaló",
                "Who grew it",
                f"{MEMBERS_TOTAL} members, {MEMBERS_WOMEN} of them women",
                "Agroecological",
                "Sanitary registration ARCSA 12345-ALN-0323",
                "Checked on arrival: 4.0 °C",
            ],
        ),
    ],
)
async def test_a_shopper_scans_the_label(
    traced: Traced,
    base_url: str,
    browser: Browser,
    language: str,
    expected: list[str],
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    page = await _phone_page(browser, language)
    answer = await page.goto(f"{base_url}/t/{traced.cold}")
    assert answer is not None
    assert answer.status == 200
    text = await page.inner_text("body")
    for line in expected:
        assert line in text, (line, text)
    # made for the phone: nothing wider than the screen, the title readable without zoom
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    shot = tmp_path / f"origin-{language}.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    record_property("screenshot", str(shot))
    print(f"screenshot: {shot}")

    missing = await page.goto(f"{base_url}/t/NO-SUCH-LOT")
    assert missing is not None
    assert missing.status == 404
    text = await page.inner_text("body")
    assert ("No encontramos este lote" if language.startswith("es") else "We cannot find") in text


async def test_the_docs_load_with_the_network_cut_off(
    base_url: str, browser: Browser, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    """Every request that leaves the app is refused: Swagger UI and ReDoc still render."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    outside: list[str] = []

    async def only_the_app(route: Route) -> None:
        url = route.request.url
        if url.startswith(base_url):
            await route.continue_()
        else:
            outside.append(url)
            await route.abort()

    await context.route("**/*", only_the_app)
    page = await context.new_page()
    await page.goto(f"{base_url}/docs")
    await page.get_by_text("Place an order").first.wait_for(timeout=30_000)
    assert await page.get_by_text("Start here").count() >= 1
    shot = tmp_path / "docs.png"
    await page.screenshot(path=str(shot))
    record_property("screenshot", str(shot))
    print(f"screenshot: {shot}")
    await page.goto(f"{base_url}/redoc")
    # ReDoc renders every operation (its menu entries stay folded until opened)
    await page.get_by_text("Place an order").first.wait_for(state="attached", timeout=30_000)
    await page.get_by_role("heading", name="Start here").wait_for(timeout=30_000)
    assert outside == [] or all("redoc.ly" in url for url in outside), outside
