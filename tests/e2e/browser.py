"""Headless Chromium for the dashboard tests and benchmark, driven by selenium with the system's
chromedriver (no driver download, no network): console messages and every network request are
recorded, so tests can check that a page logged no error and asked nothing of another host."""

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = os.environ.get("SIGHTLINE_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SIGHTLINE_CHROMEDRIVER", shutil.which("chromedriver") or "/usr/bin/chromedriver")

# Selenium must not look for drivers or report usage on the network.
os.environ.setdefault("SE_OFFLINE", "true")
os.environ.setdefault("SE_AVOID_STATS", "true")


def available():
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


class Browser:
    """One headless Chromium with its own profile, at `width` x `height`, in the light or dark
    colour scheme."""

    def __init__(self, width=1280, height=800, dark=False):
        self.profile = tempfile.mkdtemp(prefix="sightline-chromium-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for arg in [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync",
            "--disable-default-apps", "--disable-extensions", "--disable-dev-shm-usage",
            "--metrics-recording-only", "--no-default-browser-check", "--disable-client-side-phishing-detection",
            f"--user-data-dir={self.profile}", f"--window-size={width},{height}", "--hide-scrollbars",
            f"--blink-settings=preferredColorScheme={0 if dark else 1}",
        ]:
            opts.add_argument(arg)
        if dark:
            opts.add_argument("--force-dark-mode")
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        self.driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
        self.driver.set_page_load_timeout(30)
        # The page's viewport is exactly width x height, whatever the window's frame takes.
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        self.driver.execute_cdp_cmd(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]},
        )
        self.requests = []
        self.console = []

    def get(self, url):
        self.driver.get(url)
        return self

    def find(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def wait(self, condition, timeout=10, message=""):
        """Waits until `condition(driver)` is truthy and returns it."""
        return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(condition, message)

    def wait_css(self, css, timeout=10):
        return self.wait(lambda d: d.find_elements(By.CSS_SELECTOR, css), timeout, f"no {css}")[0]

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def screenshot(self, path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(path))
        return path

    def collect_logs(self):
        """Drains the browser's console and network logs into `console` and `requests`."""
        for entry in self.driver.get_log("browser"):
            self.console.append(entry)
        for entry in self.driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            if msg.get("method") == "Network.requestWillBeSent":
                self.requests.append(msg["params"]["request"]["url"])
        return self

    def console_errors(self):
        self.collect_logs()
        return [e for e in self.console if e.get("level") in ("SEVERE", "ERROR")]

    def foreign_requests(self):
        """Network requests to anything but 127.0.0.1. The browser's own pages (chrome://, its
        new-tab page before the first navigation) and data:/blob: URLs never leave the process."""
        self.collect_logs()
        return [url for url in self.requests
                if urlparse(url).scheme not in ("data", "about", "blob", "chrome", "chrome-untrusted", "devtools")
                and urlparse(url).hostname != "127.0.0.1"]

    def quit(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)


def ready_time(browser, timeout=20):
    """Seconds from navigation start until the waterfall said it was ready, read from the page."""
    browser.wait(lambda d: d.execute_script("return document.getElementById('waterfall')?.dataset.ready === 'true'"), timeout)
    return browser.js("return performance.now()") / 1000.0


def wait_until(fn, timeout=10, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(interval)
    return fn()
