"""Schemathesis against the OpenAPI schema: generated requests (valid and invalid) to every operation, with a
valid key and a site that exists, must never get a 5xx answer."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from api_helpers import api_settings, client_for, load_sample_site, make_key
from hypothesis import HealthCheck, settings
from wfm_api.main import create_app

_FOLDER = Path(tempfile.mkdtemp(prefix="wfm-fuzz-"))
_URL = f"sqlite:///{_FOLDER / 'wfm.db'}"
KEY = make_key(_URL, "hotline")
with client_for(_URL, ) as _client:
    load_sample_site(_client, KEY, "hotline")
APP = create_app(api_settings(_URL), run_jobs=False)  # queued jobs stay queued: this is about the HTTP layer
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case) -> None:
    if "site_id" in (case.path_parameters or {}):
        case.path_parameters["site_id"] = "hotline"
    response = case.call(headers={"X-API-Key": KEY})
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
