"""Benchmark of nsgen's scripts against the `ip -batch` floor and other ways to build a lab."""
