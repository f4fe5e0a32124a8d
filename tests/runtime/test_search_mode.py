"""Where searches can go, as the status bar and the welcome panel say it: never "web"
without a key or a server to search it with."""

from __future__ import annotations

from qwq_edge.runtime import can_search_web, make_provider, search_mode, web_part
from qwq_edge.settings import Settings
from tests.support.fakes import FakeSearch

KEY = "tvly-test"
SEARXNG = "http://127.0.0.1:8888"


def test_the_settings_alone_say_the_mode_before_a_session() -> None:
    assert search_mode(Settings(tavily_api_key=KEY), None) == "web"
    assert search_mode(Settings(search="searxng", searxng_url=SEARXNG), None) == "web"
    # The web among the sources and nothing to search it with: the library alone, or nothing.
    assert search_mode(Settings(), None) == "library only"
    assert search_mode(Settings(sources="web"), None) == "no search key"
    assert search_mode(Settings(search="searxng", sources="web"), None) == "no search key"
    assert search_mode(Settings(sources="web", tavily_url=SEARXNG), None) == "no search key"
    assert search_mode(Settings(sources="library", tavily_api_key=KEY), None) == "library only"
    # Offline: the cache and the library answer, key or no key.
    assert search_mode(Settings(offline=True), None) == "offline"
    assert search_mode(Settings(offline=True, tavily_api_key=KEY), None) == "offline"
    assert search_mode(Settings(offline=True, sources="library"), None) == "library only"
    assert search_mode(Settings(sources="nonsense"), None) == "no search key"


def test_a_key_or_a_searxng_url_is_what_makes_the_web_searchable() -> None:
    assert can_search_web(Settings(tavily_api_key=KEY))
    assert not can_search_web(Settings(tavily_api_key="  "))
    assert can_search_web(Settings(search="searxng", searxng_url=SEARXNG))
    assert not can_search_web(Settings(search="searxng", searxng_url="not a url"))
    assert not can_search_web(Settings(search="searxng", tavily_api_key=KEY))


def test_a_sessions_provider_says_the_mode_and_follows_the_network() -> None:
    keyed = Settings(tavily_api_key=KEY)
    provider = make_provider(keyed)
    assert search_mode(keyed, provider) == "web"
    web = web_part(provider)
    assert web is not None
    web.mode, web.went_offline = "offline", True  # the network was found unreachable
    assert search_mode(keyed, provider) == "offline"
    web.mode = "online"  # Ctrl+O back online
    assert search_mode(keyed, provider) == "web"
    assert search_mode(Settings(), make_provider(Settings())) == "library only"
    assert search_mode(Settings(), make_provider(Settings(sources="web"))) == "no search key"
    library = make_provider(Settings(sources="library"))
    assert search_mode(Settings(), library) == "library only"


def test_another_search_is_taken_as_the_web() -> None:
    assert search_mode(Settings(), FakeSearch()) == "web"
    assert search_mode(Settings(), FakeSearch(key=False)) == "no search key"
    assert search_mode(Settings(offline=True), FakeSearch()) == "offline"
