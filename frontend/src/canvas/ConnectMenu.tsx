// "Connect to": each output of the step whose settings are open, with the steps it may go to (no
// loops, nothing without an input), so steps are joined and parted without dragging a handle —
// from the keyboard or a screen reader as well as the mouse.
import { Field } from '../components/ui';
import type { FlowEdge } from '../lib/graph';
import { fallthroughFor, handleLabel, handlesFor, type NodeCatalog } from '../lib/node-types';
import { canConnect } from '../lib/rules';
import { type JourneyNode, nodeAccessibleName } from './nodes';

export function ConnectMenu({
  node,
  nodes,
  edges,
  catalog,
  onConnect,
  onDisconnect,
}: {
  node: JourneyNode;
  nodes: readonly JourneyNode[];
  edges: readonly FlowEdge[];
  catalog: NodeCatalog;
  onConnect: (handle: string, target: string) => void;
  onDisconnect: (handle: string) => void;
}) {
  const info = catalog.get(node.type);
  const { config, handle_labels: labels } = node.data;
  const handles = handlesFor(info, config);
  if (!handles.length) return null;
  const fallthrough = fallthroughFor(info, config);
  const name = (h: string) => handleLabel(info, config, h, labels);
  return (
    <section className="stack" aria-label="Connections">
      <h3 className="small">Connect to</h3>
      {handles.map((h) => {
        const current = edges.find((e) => e.source === node.id && e.sourceHandle === h)?.target ?? '';
        const others = edges.filter((e) => !(e.source === node.id && e.sourceHandle === h));
        const targets = nodes.filter((t) => t.id === current || canConnect(nodes, others, { source: node.id, sourceHandle: h, target: t.id }, catalog));
        const unconnected = fallthrough[h] ? `Not connected (goes on along ${name(fallthrough[h])})` : 'Not connected (ends the journey)';
        return (
          <Field key={h} label={`${name(h)}: connect to`}>
            <select value={current} onChange={(e) => (e.target.value ? onConnect(h, e.target.value) : onDisconnect(h))}>
              <option value="">{unconnected}</option>
              {targets.map((t) => (
                <option key={t.id} value={t.id}>
                  {nodeAccessibleName(catalog, t)}
                </option>
              ))}
            </select>
          </Field>
        );
      })}
    </section>
  );
}
