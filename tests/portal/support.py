"""Browser fixtures and test files shared by the portal and appeal tests."""

from pathlib import Path

import pytest

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# The smallest valid PNG (1x1, transparent): an image upload whose type is decided by content.
PNG_BYTES = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


# Module scope: the portal and appeal conftests each import this fixture, and two session-wide
# Playwright instances cannot run at once in one thread.
@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    from playwright.sync_api import expect

    expect.set_options(timeout=15000)  # expect() has its own 5 s default
    yield page
    context.close()


def screenshot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def send_owed_notices() -> list[int]:
    """Run the send task for every notice still owed, as the worker would (it is idempotent)."""
    from counterfeits.models import Notice
    from counterfeits.tasks import send_notice_task

    owed = list(Notice.objects.filter(sent_at__isnull=True).values_list("pk", flat=True))
    for notice_id in owed:
        send_notice_task(notice_id)
    return owed
