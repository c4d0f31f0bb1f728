from tests.chromium import browser as browser  # the browser tests' Chromium
