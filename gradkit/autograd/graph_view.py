"""Seeing a graph: walk from a tensor's ``grad_fn`` through ``next_functions`` and draw it
as Graphviz DOT or as a rich tree (grad_fn names as PyTorch names them, output
shapes, and the leaves that require grad, named when a name is known)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .node import AccumulateGrad, Node
from .tensor import Tensor

__all__ = ["GraphView", "graph_of", "to_dot", "to_tree"]


@dataclass
class GraphView:
    """Nodes by id (label, kind) and edges (from input to consumer), root first."""

    root: int
    labels: dict[int, str] = field(default_factory=dict)
    kinds: dict[int, str] = field(default_factory=dict)
    children: dict[int, list[int]] = field(default_factory=dict)

    @property
    def edges(self) -> list[tuple[int, int]]:
        return [(c, p) for p, cs in self.children.items() for c in cs]

    def count(self, kind: str) -> int:
        return sum(1 for k in self.kinds.values() if k == kind)


def _shape(node: Node) -> str:
    shape = getattr(node, "_oshape", None)
    return "(" + ", ".join(map(str, shape)) + ")" if shape is not None else "?"


def graph_of(t: Tensor, names: dict[int, str] | None = None) -> GraphView:
    """The graph behind ``t`` (which must have a ``grad_fn``); ``names`` maps ``id(leaf)``
    to a label such as a parameter's qualified name."""
    if t.grad_fn is None:
        raise ValueError(
            "this tensor has no grad_fn: it was not computed from tensors that require grad"
        )
    names = names or {}
    view = GraphView(id(t.grad_fn))
    stack: list[Node] = [t.grad_fn]
    seen: set[int] = set()
    while stack:  # iterative: deep graphs are fine
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, AccumulateGrad):
            var = node.variable
            name = names.get(id(var), "leaf")
            view.labels[id(node)] = f"{name} {_shape(node)} requires_grad"
            view.kinds[id(node)] = "leaf"
        else:
            view.labels[id(node)] = f"{node.name()} {_shape(node)}"
            view.kinds[id(node)] = "node"
        kids = []
        for nxt, _ in node.next_functions:
            if nxt is not None:
                kids.append(id(nxt))
                stack.append(nxt)
        view.children[id(node)] = kids
    return view


def to_dot(view: GraphView, title: str = "autograd graph") -> str:
    """Graphviz DOT text: nodes are grad_fns (boxes) and leaves (green ellipses); edges
    point the way gradients flow, from the loss to the leaves."""
    lines = [f'digraph "{title}" {{', "  rankdir=TB;", '  node [fontname="Helvetica"];']
    for nid, label in view.labels.items():
        style = (
            'shape=ellipse, style=filled, fillcolor="#cdeac0"'
            if view.kinds[nid] == "leaf"
            else "shape=box, style=rounded"
        )
        root = ", penwidth=2" if nid == view.root else ""
        text = label.replace('"', '\\"')
        lines.append(f'  n{nid} [label="{text}", {style}{root}];')
    for child, parent in view.edges:
        lines.append(f"  n{parent} -> n{child};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_tree(view: GraphView, title: str) -> Any:
    """A rich Tree of the graph; a node reached twice is shown once, then referred to."""
    from rich.tree import Tree

    tree = Tree(title)
    shown: set[int] = set()

    def add(parent: Any, nid: int) -> None:
        label = view.labels[nid]
        style = "green" if view.kinds[nid] == "leaf" else "bold"
        if nid in shown and view.children.get(nid):
            parent.add(f"[{style}]{label}[/] [dim](shared, shown above)[/]")
            return
        branch = parent.add(f"[{style}]{label}[/]")
        shown.add(nid)
        for c in view.children.get(nid, []):
            stack.append((branch, c))

    stack: list[tuple[Any, int]] = [(tree, view.root)]
    while stack:
        parent, nid = stack.pop(0)
        add(parent, nid)
    return tree
