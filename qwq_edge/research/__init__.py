"""Research reports: a plan, sections researched one by one, every cited claim checked."""
