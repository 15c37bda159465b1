// Copy/paste of canvas nodes: the selected nodes and the edges between them, re-keyed with fresh
// ids and shifted so the copy does not sit on the original.
import { edgeId, newNodeId, type FlowEdge, type FlowNode } from './graph';

export interface Clip {
  nodes: FlowNode[];
  edges: FlowEdge[];
}

export function copySelection(nodes: readonly FlowNode[], edges: readonly FlowEdge[]): Clip {
  const picked = nodes.filter((n) => n.selected);
  const ids = new Set(picked.map((n) => n.id));
  return { nodes: picked, edges: edges.filter((e) => ids.has(e.source) && ids.has(e.target)) };
}

export const PASTE_OFFSET = 40;

/** The clip's nodes and edges with ids not in `existing`, moved by `offset`; a pasted start would
 * be a second start (invalid), so starts are left out. The pasted nodes come selected. */
export function pasteClip(clip: Clip, existing: readonly FlowNode[], offset = { x: PASTE_OFFSET, y: PASTE_OFFSET }): Clip {
  const taken = new Set(existing.map((n) => n.id));
  const rename = new Map<string, string>();
  const nodes: FlowNode[] = [];
  for (const n of clip.nodes) {
    if (n.type === 'start') continue;
    const id = newNodeId(n.type, taken);
    taken.add(id);
    rename.set(n.id, id);
    nodes.push({
      id,
      type: n.type,
      position: { x: n.position.x + offset.x, y: n.position.y + offset.y },
      data: structuredClone(n.data),
      selected: true,
    });
  }
  const edges = clip.edges
    .filter((e) => rename.has(e.source) && rename.has(e.target))
    .map((e) => {
      const source = rename.get(e.source)!;
      const target = rename.get(e.target)!;
      return { id: edgeId(source, e.sourceHandle ?? '', target), source, sourceHandle: e.sourceHandle, target };
    });
  return { nodes, edges };
}
