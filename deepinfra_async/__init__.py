"""deepinfra_async: an asyncio-first client for DeepInfra."""
