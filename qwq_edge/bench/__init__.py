"""The benchmark suite behind ``qwq-edge bench`` (a front end: it drives the agent, the
engine and the TUI exactly as users do, next to baseline loops)."""
