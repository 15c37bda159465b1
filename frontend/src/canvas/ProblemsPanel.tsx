// The canvas's problems, from one source: the server's validate of the saved draft while it is the
// draft on screen (re-checked after every save), else the live hints for what is on screen. The
// "N issues" button, the node markers, the field errors and Validate's notice all read this list.
import { useMemo, useState } from 'react';

import type { FlowEdge, FlowNode } from '../lib/graph';
import type { NodeCatalog } from '../lib/node-types';
import { problemFieldLabel } from '../lib/problem-labels';
import { graphProblems, graphWarnings, type Problem, problemsByNode } from '../lib/rules';

/** The server's answer for one draft (its JSON as saved). */
export interface Checked {
  errors: Problem[];
  warnings: Problem[];
  draft: string;
}

export function useProblems(nodes: readonly FlowNode[], edges: readonly FlowEdge[], catalog: NodeCatalog, draft: string) {
  const [server, setServer] = useState<Checked | null>(null);
  const [showProblems, setShowProblems] = useState(false);
  const fromServer = server !== null && server.draft === draft;
  // Compared as text so an edit that changes no hint keeps the same list (nodes do not redraw).
  const key = JSON.stringify(fromServer ? [server.errors, server.warnings] : [graphProblems(nodes, edges, catalog), graphWarnings(nodes, edges, catalog)]);
  const [problemList, warningList] = useMemo(() => JSON.parse(key) as [Problem[], Problem[]], [key]);
  const problems = useMemo(() => problemsByNode(problemList), [problemList]);
  return { problemList, warningList, problems, fromServer, setServer, showProblems, setShowProblems };
}

function ProblemItem({ p, nodes, catalog, nodeName, onPick }: { p: Problem; nodes: readonly FlowNode[]; catalog: NodeCatalog; nodeName: (id: string) => string; onPick: (p: Problem) => void }) {
  const node = p.node_id ? nodes.find((n) => n.id === p.node_id) : undefined;
  return (
    <li>
      <button type="button" className="link-btn" onClick={() => onPick(p)} data-testid="problem-link">
        {p.node_id ? nodeName(p.node_id) : p.field.startsWith('settings') ? 'Journey settings' : 'Journey'}
        {' · '}
        {problemFieldLabel(p, node, catalog)}
      </button>{' '}
      {p.message}
    </li>
  );
}

export function ProblemsPanel({
  problems,
  warnings,
  fromServer,
  nodes,
  catalog,
  nodeName,
  onPick,
  onClose,
}: {
  problems: Problem[];
  warnings: Problem[];
  fromServer: boolean;
  nodes: readonly FlowNode[];
  catalog: NodeCatalog;
  nodeName: (id: string) => string;
  onPick: (p: Problem) => void;
  onClose: () => void;
}) {
  const item = (p: Problem, i: number) => <ProblemItem key={i} p={p} nodes={nodes} catalog={catalog} nodeName={nodeName} onPick={onPick} />;
  return (
    <section className="problems" aria-label="Problems" data-testid="problems">
      <header>
        <strong>{fromServer ? 'Checked by the server' : 'Checks as you edit'}</strong>
        <button type="button" className="icon-btn" aria-label="Close problems" onClick={onClose}>
          ×
        </button>
      </header>
      {problems.length === 0 ? <p className="muted">No problems found.</p> : <ul>{problems.map(item)}</ul>}
      {warnings.length > 0 && (
        <>
          <strong className="small">Worth a look (these do not stop a start)</strong>
          <ul data-testid="warnings">{warnings.map(item)}</ul>
        </>
      )}
    </section>
  );
}
