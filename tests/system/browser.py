"""Airflow 3's UI in headless Chromium (Debian's ``chromium`` and ``chromium-driver``), driven by selenium.

Only what the browser test needs: the connection form (labels, required marks, selects), saving a
connection, the connection list's "Test Connection" button and its toast, a task's extra links.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

T = TypeVar("T")


def chromium_binaries() -> tuple[str, str]:
    """Debian's browser and its WebDriver (``make chromium`` installs them)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or shutil.which("chromedriver", path="/usr/lib/chromium")
    if not browser or not driver:
        raise RuntimeError(
            "chromium and chromedriver not found: install Debian's 'chromium' and 'chromium-driver'"
        )
    return browser, driver


def same_value(shown: str | None, typed: str) -> bool:
    """A number field shows ``2`` for ``2.0``."""
    if shown == typed:
        return True
    try:
        return shown is not None and float(shown) == float(typed)
    except ValueError:
        return False


@dataclass(frozen=True)
class FormField:
    """A field of the connection form as the user sees it."""

    label: str
    required: bool
    input_id: str


class AirflowUI:
    """
    One headless Chromium session on Airflow 3's UI.

    :param base_url: the api-server's address (it serves the UI).
    :param timeout: how long to wait for an element or a state, in seconds.
    """

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service

        browser, driver = chromium_binaries()
        options = Options()
        options.binary_location = browser
        for argument in (
            "--headless=new",
            "--no-sandbox",  # root in a container has no user namespace for Chromium's sandbox
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--window-size=1400,1400",
        ):
            options.add_argument(argument)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.driver = webdriver.Chrome(options=options, service=Service(driver))
        self.driver.implicitly_wait(0)

    def close(self) -> None:
        self.driver.quit()

    # -- waiting and finding -----------------------------------------------------------------------

    def wait(self, condition: Callable[[], T | None], what: str, timeout: float | None = None) -> T:
        """Polls ``condition`` until it returns something truthy; fails naming ``what``."""
        from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

        deadline = time.monotonic() + (timeout or self.timeout)
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                value = condition()
                if value:
                    return value
            except (StaleElementReferenceException, WebDriverException) as exc:  # re-rendered meanwhile
                last = exc
            time.sleep(0.2)
        body = self.driver.find_element("tag name", "body").text[-1500:]
        raise AssertionError(
            f"UI: {what} not seen in {timeout or self.timeout}s ({last}); page shows:\n{body}"
        )

    def xpath(self, expression: str) -> list[Any]:
        return [e for e in self.driver.find_elements("xpath", expression) if e.is_displayed()]

    def one(self, expression: str, what: str) -> Any:
        return self.wait(lambda: next(iter(self.xpath(expression)), None), what)

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    def click(self, element: Any) -> None:
        """Click ``element`` as a user would, once it is in view and nothing covers it; a form section
        still sliding open covers it for a moment (ElementClickInterceptedException), so try again,
        then click it through the DOM."""
        from selenium.common.exceptions import ElementClickInterceptedException

        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        deadline = time.monotonic() + 3
        while True:
            try:
                element.click()
                return
            except ElementClickInterceptedException:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        self.driver.execute_script("arguments[0].focus(); arguments[0].click();", element)

    # -- the connection form -----------------------------------------------------------------------

    def new_connection_form(self, conn_id: str, type_name: str) -> None:
        """Admin > Connections > Add Connection, with the id typed and the type chosen."""
        self.open("/connections")
        self.click(self.one("//button[normalize-space(.)='Add Connection']", "the Add Connection button"))
        self.type_into("Connection ID", conn_id)
        self.choose("Connection Type", type_name)
        # The type's fields arrive with its hook metadata, in two sections (standard, extra).
        self.one("//button[normalize-space(.)='Extra Fields']", "the Extra Fields section")

    def form_fields(self) -> dict[str, FormField]:
        """Every field of the open form, by its label (without the required mark), in either section,
        open or closed; a field the connection type hides is not in the page at all."""
        fields = {}
        for label in self.driver.find_elements("xpath", "//label[@data-part='label']"):
            text = (label.get_attribute("textContent") or "").replace("*", "").strip()
            if text:
                required = label.get_attribute("data-required") is not None
                fields[text] = FormField(text, required, label.get_attribute("for"))
        return fields

    def field_input(self, label: str) -> Any:
        """The field's input, its section opened (the form shows one section at a time)."""
        field = self.wait(lambda: self.form_fields().get(label), f"the field labelled {label!r}")
        found = self.driver.find_elements("id", field.input_id)
        if found:
            element = found[0]
        else:  # a widget whose input is not the label's target (a password field): the field's input
            root = f"//label[@for='{field.input_id}']/ancestor::*[@data-part='root'][1]"
            element = self.driver.find_element(
                "xpath", f"{root}//*[self::input[not(@type='hidden')] or self::textarea]"
            )
        if not element.is_displayed():
            for section in self.xpath("//button[@aria-expanded='false']"):
                if section.text in ("Standard Fields", "Extra Fields"):
                    self.click(section)
                    break
            self.wait(element.is_displayed, f"the field {label!r} shown")
        return element

    def type_into(self, label: str, text: str) -> None:
        from selenium.webdriver.common.keys import Keys

        element = self.field_input(label)
        # clear() leaves React's state as it was (a default stays in front of the text): select all.
        element.send_keys(Keys.CONTROL, "a")
        element.send_keys(Keys.DELETE)
        element.send_keys(text)
        try:
            self.wait(lambda: same_value(element.get_attribute("value"), text), f"{text!r} in {label!r}", 2)
        except AssertionError:
            # Chromium drops a keystroke now and then while React re-renders the form (seen in a
            # password field): set the value as the browser's autofill does, with an input event.
            self.driver.execute_script(
                "const [el, v] = arguments;"
                "Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(el, v);"
                "el.dispatchEvent(new Event('input', {bubbles: true}));",
                element,
                text,
            )
            self.wait(lambda: same_value(element.get_attribute("value"), text), f"{text!r} in {label!r}", 5)

    def options(self, label: str) -> list[str]:
        """The choices a select (react-select) offers, as the user sees them when opening it."""
        from selenium.webdriver.common.keys import Keys

        element = self.field_input(label)
        self.click(element)
        element.send_keys(Keys.ARROW_DOWN)
        options = self.wait(
            lambda: [o.text for o in self.xpath("//*[contains(@id, '-option-')]")],
            f"the options of {label!r}",
        )
        element.send_keys(Keys.ESCAPE)
        return options

    def choose(self, label: str, option: str) -> None:
        from selenium.webdriver.common.keys import Keys

        element = self.field_input(label)
        self.click(element)
        element.send_keys(option)
        self.one(
            f"//*[contains(@id, '-option-') and normalize-space(.)='{option}']", f"the option {option!r}"
        )
        element.send_keys(Keys.ENTER)

    def save_form(self, conn_id: str) -> None:
        self.click(self.one("//button[normalize-space(.)='Save']", "the Save button"))
        self.connection_row(conn_id)

    # -- the connection list -----------------------------------------------------------------------

    def connection_row(self, conn_id: str) -> Any:
        return self.one(
            f"//tr[.//*[normalize-space(text())='{conn_id}']]", f"the connection {conn_id!r} listed"
        )

    def test_connection(self, conn_id: str) -> str:
        """Clicks the connection's "Test Connection" button; the toast that answers (title and text)."""
        self.open("/connections")
        row = self.connection_row(conn_id)
        self.click(row.find_element("xpath", ".//button[@aria-label='Test Connection']"))
        toast = "//*[@data-scope='toast' and @data-part='root']"
        return str(self.wait(lambda: " | ".join(t.text for t in self.xpath(toast)), "the test's answer", 90))

    # -- a task instance ---------------------------------------------------------------------------

    def extra_links(self, dag_id: str, run_id: str, task_id: str, names: list[str]) -> dict[str, str]:
        """The task's Details tab, where Airflow 3 shows operator extra links: ``name -> href``."""
        self.open(f"/dags/{dag_id}/runs/{quote(run_id, safe='')}/tasks/{task_id}/details")

        def links() -> dict[str, str] | None:
            found = {a.text: a.get_attribute("href") for a in self.xpath("//a") if a.text in names}
            return found if set(found) == set(names) else None

        return self.wait(links, f"the extra links {names} of {dag_id}.{task_id}")
