"""Pictures of a stack, as text for other tools to draw or as SVG: the dependency
graph (text, Mermaid, Graphviz dot) and the start-up waterfall. Pure functions from
small view models to strings; stdlib only, no I/O."""
