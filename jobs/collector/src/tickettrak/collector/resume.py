"""The resume point: which planned requests already succeeded for this logical date.

The RAW store is the record of what succeeded (not a local file), so a pod that died, a rerun from
Airflow and a laptop run all agree. The proxy answers from RAW.
"""

from __future__ import annotations

import asyncio
from datetime import date

import httpx

COMPLETED_PATH = "/tickettrak/v1/completed"
ATTEMPTS = 4
RETRY_BASE_S = 0.5  # waits 1, 2, 4 s: a proxy pod that is restarting gets a moment


class ResumeError(Exception):
    """The proxy could not say what already succeeded; nothing was sent."""


async def completed_keys(client: httpx.AsyncClient, logical_date: date) -> set[str]:
    last_error = ""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            response = await client.get(COMPLETED_PATH, params={"logical_date": logical_date.isoformat()})
        except httpx.TransportError as error:  # the proxy may still be starting: wait a little
            last_error = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        else:
            if response.status_code == 200:
                return _keys(response)
            last_error = f"HTTP {response.status_code}: {response.text[:200]}"
            if response.status_code < 500:
                break
        if attempt < ATTEMPTS:
            await asyncio.sleep(RETRY_BASE_S * 2**attempt)
    raise ResumeError(
        f"cannot ask the proxy at {client.base_url} which requests already succeeded ({last_error}); "
        "is it running, and is TICKETTRAK_PROXY_URL right?"
    )


def _keys(response: httpx.Response) -> set[str]:
    try:
        keys = response.json()["request_keys"]
    except (ValueError, KeyError, TypeError):
        raise ResumeError(f"the proxy's {COMPLETED_PATH} answer has no request_keys list") from None
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ResumeError(f"the proxy's {COMPLETED_PATH} answer: request_keys is not a list of strings")
    return set(keys)
