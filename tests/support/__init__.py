"""Test doubles and helpers: a scripted engine, a fake search provider, local Tavily and Hub
servers, a QwQ-32B header writer, and the environment for CLI subprocesses."""
