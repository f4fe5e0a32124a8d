"""The app's widgets, one module per area of the screen: the prompt, the conversation and
its turns (thinking, tool cards, sources), the welcome panel of an empty session, the
sessions sidebar and the status bar.

The app sets what they show (attributes down) and they post what the user did (messages
up); none of them touches the engine, and only the sidebar reads the journal (its list of
sessions). Their styles are in ``app.tcss``.
"""

from qwq_edge.tui.widgets.conversation import Conversation
from qwq_edge.tui.widgets.prompt import PromptInput
from qwq_edge.tui.widgets.sidebar import SessionItem, SessionsSidebar
from qwq_edge.tui.widgets.sources import SourcesView
from qwq_edge.tui.widgets.status import Status, StatusBar
from qwq_edge.tui.widgets.tool_card import ToolCard
from qwq_edge.tui.widgets.turn import ThinkingView, TurnView
from qwq_edge.tui.widgets.welcome import Welcome, WelcomePanel

__all__ = [
    "Conversation",
    "PromptInput",
    "SessionItem",
    "SessionsSidebar",
    "SourcesView",
    "Status",
    "StatusBar",
    "ThinkingView",
    "ToolCard",
    "TurnView",
    "Welcome",
    "WelcomePanel",
]
