"""Synthetic but physics-like plant data: press-fit, screwdriving and spot-weld curves."""

from pipelines.synthetic.generator import DemoSpec, generate_demo

__all__ = ["DemoSpec", "generate_demo"]
