"""Field app UI tests: view-models without a client, and Playwright with Debian chromium."""
