"""inferstack: one GPU inference stack on-prem or on AWS, proven against its SLO and priced per inference."""

__version__ = "0.1.0"
