"""wfm: workforce forecasting, staffing and rostering for call centres, spas and stores.

The pipeline is ``forecast -> erlang -> roster -> report``; each stage is a subpackage.
"""

__version__ = "0.1.0"
