// The canvas side of the node types: every `<type>-node.tsx` file here is picked up (one file per
// type, none needed), and one memoized card view draws every type from the server's description
// plus that file's summary. Dragging one node of a 150-node journey re-renders that node only.
import type { Node, NodeProps, NodeTypes } from '@xyflow/react';
import { createElement, memo } from 'react';

import type { Config, JourneyNodeData } from '../../lib/graph';
import { catalogOf, type NodeCatalog, type NodeTypeInfo } from '../../lib/node-types';
import { type JsonSchema } from '../../lib/schema';
import { useCanvasInfo } from '../context';
import { NodeShell } from './node-shell';
import type { NodeUi } from './node-ui';

export type JourneyNode = Node<JourneyNodeData, string>;

const modules = import.meta.glob<{ ui: NodeUi }>('./*-node.tsx', { eager: true });

/** The canvas's own parts per node type name. */
export const NODE_UI: ReadonlyMap<string, NodeUi> = new Map(Object.values(modules).map((m) => [m.ui.type, m.ui]));

/** The server's node types with the canvas's own hint rules attached. */
export function canvasCatalog(types: readonly NodeTypeInfo[]): NodeCatalog {
  return catalogOf(types.map((t) => ({ ...t, ...(NODE_UI.get(t.type)?.hints ? { hints: NODE_UI.get(t.type)!.hints } : {}) })));
}

/** A type without its own summary: the values its schema names, as "Title: value". */
function GenericSummary({ data, info }: { data: JourneyNodeData; info: NodeTypeInfo | undefined }) {
  const props = ((info?.config_schema ?? {}) as JsonSchema).properties ?? {};
  const parts = Object.entries(props)
    .filter(([key]) => data.config[key] !== undefined)
    .map(([key, s]) => `${s.title ?? key}: ${typeof data.config[key] === 'object' ? JSON.stringify(data.config[key]) : String(data.config[key])}`);
  return parts.length ? <span className="clip">{parts.join(' · ')}</span> : <span className="muted">{info?.description || 'Not set up yet'}</span>;
}

/** What a node of this type with this config is called: "Email", "Wait", "Trigger". */
export function nodeTypeLabel(catalog: NodeCatalog, type: string, config: Config): string {
  return NODE_UI.get(type)?.card?.(config)?.label ?? catalog.get(type)?.label ?? type;
}

/** A node's name for screen readers and menus: its type and its own name ("Email: Cart email"). */
export function nodeAccessibleName(catalog: NodeCatalog, node: Pick<JourneyNode, 'type' | 'data'>): string {
  const type = nodeTypeLabel(catalog, node.type, node.data.config);
  const name = node.data.name?.trim();
  return name && name !== type ? `${type}: ${name}` : type;
}

const NodeView = memo(function NodeView({ id, type, data, selected }: NodeProps<JourneyNode>) {
  const { catalog } = useCanvasInfo();
  const info = catalog.get(type);
  const ui = NODE_UI.get(type);
  const card = ui?.card?.(data.config) ?? {};
  return (
    <NodeShell
      id={id}
      kind={type}
      data={data}
      selected={!!selected}
      icon={card.icon ?? info?.icon ?? '?'}
      tone={info?.category ?? 'flow'}
      typeLabel={card.label ?? info?.label ?? type}
      messageCounts={ui?.messageCounts?.(data.config)}
      summary={ui?.Summary ? createElement(ui.Summary, { data }) : <GenericSummary data={data} info={info} />}
    />
  );
});

/** React Flow's nodeTypes for a catalog: the one view under every type name. Built once per
 * catalog (the catalog is loaded once), so React Flow never re-mounts the nodes. */
export function nodeTypesFor(catalog: NodeCatalog): NodeTypes {
  return Object.fromEntries([...catalog.keys()].map((type) => [type, NodeView]));
}
