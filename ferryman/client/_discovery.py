"""Where the API is and which key to use, for a client started without them: the values
given (the CLI's `--api-url` and `--api-key`), then `FERRYMAN_API_URL` and
`FERRYMAN_API_KEY`, then the data dir that `ferryman up` wrote (`FERRYMAN_DATA_DIR`, default
`.ferryman`): its `api-url` and `dev-api-key` files."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ferryman.client._transport import FerrymanError

URL_FILE = "api-url"  # written by `ferryman up` (ferryman/supervisor.py), as is the key file
KEY_FILE = "dev-api-key"


@dataclass(frozen=True)
class ApiAddress:
    url: str
    key: str | None
    found_in: str  # where the URL came from, for error sentences


def _read(path: Path) -> str | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return text or None


def find_api(
    api_url: str | None = None,
    api_key: str | None = None,
    data_dir: str | Path | None = None,
) -> ApiAddress:
    """The API's URL and key: given, from the environment, or from the data dir."""
    env = os.environ
    folder = Path(data_dir or env.get("FERRYMAN_DATA_DIR") or ".ferryman")
    candidates = [
        (api_url, "--api-url"),
        (env.get("FERRYMAN_API_URL"), "FERRYMAN_API_URL"),
        (_read(folder / URL_FILE), str(folder / URL_FILE)),
    ]
    url, found_in = next(((value, where) for value, where in candidates if value), (None, ""))
    if url is None:
        raise FerrymanError(
            "no API to talk to: pass --api-url, set FERRYMAN_API_URL, or start `ferryman up`, "
            f"which writes its URL to {folder / URL_FILE}",
            "api_not_found",
        )
    key = api_key or env.get("FERRYMAN_API_KEY") or _read(folder / KEY_FILE)
    return ApiAddress(url.rstrip("/"), key, found_in)
