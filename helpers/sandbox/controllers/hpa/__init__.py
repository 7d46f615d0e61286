"""The HorizontalPodAutoscaler controller."""

from .controller import HorizontalController

__all__ = ["HorizontalController"]
