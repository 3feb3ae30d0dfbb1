"""The Curve Explorer: state, background rendering and the page component."""
