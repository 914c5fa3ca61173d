"""Request dependencies: the database session, the caller's API key and the site it may use."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, Security
from fastapi.security import APIKeyHeader
from sqlalchemy.orm import Session

from wfm_api.db import SiteRow
from wfm_api.schemas import SITE_ID_PATTERN
from wfm_api.security import KEY_HEADER, Caller, caller_of

_key_header = APIKeyHeader(name=KEY_HEADER, auto_error=False, description="Create one with `wfm apikey create`.")


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_caller(session: SessionDep, key: Annotated[str | None, Security(_key_header)]) -> Caller:
    caller = caller_of(session, key)
    if caller is None:
        raise HTTPException(401, f"a valid API key is required in the {KEY_HEADER} header")
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]
SiteId = Annotated[str, Path(pattern=SITE_ID_PATTERN, description="The site's id.")]


def get_site(site_id: SiteId, session: SessionDep, caller: CallerDep) -> SiteRow:
    """The site, if it exists and the caller's key was granted it; 404 otherwise (other tenants stay unseen)."""
    site = session.get(SiteRow, site_id) if site_id in caller.sites else None
    if site is None:
        raise HTTPException(404, f"site {site_id!r} not found")
    return site


SiteDep = Annotated[SiteRow, Depends(get_site)]


def owned(session: Session, table: type, row_id: str, site: SiteRow, what: str):
    """A row of ``table`` that belongs to ``site``, or 404 naming it."""
    row = session.get(table, row_id)
    if row is None or row.site_id != site.id:
        raise HTTPException(404, f"{what} {row_id!r} not found")
    return row
