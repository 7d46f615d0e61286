"""The Deployment controller, laid out like `pkg/controller/deployment`."""

from .controller import DeploymentController

__all__ = ["DeploymentController"]
