"""Lua shared by every script: the Redis clock, so hosts' clocks never matter."""

from __future__ import annotations

# Sets `now`: milliseconds on the Redis server's clock.
NOW_LUA = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
"""
