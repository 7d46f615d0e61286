"""The sandbox's API server."""

import sys

# jsonschema imports rfc3987_syntax when it is installed (Jupyter depends on it) only to check
# URI formats, and building that grammar costs about a second of start-up. Kubernetes schemas
# do not rely on those formats, so the API server goes without.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
