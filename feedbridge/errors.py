"""The one exception tree of feedbridge.

    FeedbridgeError
    ├── ConfigError            a config file is invalid (names file, line, key path)
    ├── FetchError             an HTTP exchange failed (names URL)
    │   ├── BlockedError       403, login redirect, bot-check page
    │   │   └── RobotsDisallowed   robots.txt disallows the URL
    │   ├── ResponseTooLarge   body over the configured size cap
    │   └── UnsafeURLError     scheme/host/address not allowed for this source
    ├── ExtractError           a page could not be turned into items or an article
    ├── DriftError             a page parsed but broke the source's expectations
    ├── StoreError             the SQLite store failed
    └── PublishError           a feed could not be rendered or written

Every error carries enough context (source id, URL, config key) to be logged as one line.
"""

from __future__ import annotations


class FeedbridgeError(Exception):
    """Root of all feedbridge errors."""


class ConfigError(FeedbridgeError):
    """A config file is invalid. ``problems`` lists every problem found, one per line."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class FetchError(FeedbridgeError):
    """An HTTP request failed after its retries."""

    def __init__(
        self, url: str, reason: str, status: int | None = None, retry_after: float | None = None
    ) -> None:
        self.url = url
        self.reason = reason
        self.status = status
        self.retry_after = retry_after  # seconds the site asked us to wait, if it did
        super().__init__(f"{url}: {reason}")


class BlockedError(FetchError):
    """The site refused us (403, login wall, bot check) or robots.txt disallows the URL."""


class RobotsDisallowed(BlockedError):
    """robots.txt disallows the URL for our user agent."""


class ResponseTooLarge(FetchError):
    """The body exceeded the configured size limit."""


class UnsafeURLError(FetchError):
    """The URL's scheme, host or address is not allowed for this source."""


class ExtractError(FeedbridgeError):
    """A page could not be parsed into items or an article."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class DriftError(FeedbridgeError):
    """The page parsed, but what came out breaks the source's expectations (layout drift)."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class StoreError(FeedbridgeError):
    """The state store failed."""


class PublishError(FeedbridgeError):
    """A feed could not be rendered or written."""
