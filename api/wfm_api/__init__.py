"""wfm HTTP API for HR systems: a thin FastAPI shell over the wfm service functions.

Layout (as FastAPI's docs lay out a bigger application): ``settings`` (environment), ``db`` (SQLAlchemy tables,
sessions, Alembic migration on start), ``security`` (API keys), ``schemas`` (request and response bodies),
``services`` (site data -> wfm scenario, roster rows <-> stored JSON), ``jobs`` (solves in worker processes),
``routers/`` (the endpoints) and ``main`` (the app factory).
"""
