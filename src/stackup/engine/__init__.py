"""The asyncio supervisor: one runner per service, probes, output lines, reverse-order stop."""
