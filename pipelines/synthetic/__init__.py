"""Synthetic but physics-like plant data: press-fit, screwdriving and spot-weld curves."""

from pipelines.synthetic.generator import DEMO_PROJECT, DemoSpec, generate_demo

__all__ = ["DEMO_PROJECT", "DemoSpec", "generate_demo"]
