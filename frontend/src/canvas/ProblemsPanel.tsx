// The canvas's problems: live hints as the graph is edited, or the last Validate's answer until
// the next edit; and the list of them, each naming its node (a click focuses it).
import { useMemo, useState } from 'react';

import type { FlowEdge, FlowNode } from '../lib/graph';
import type { NodeCatalog } from '../lib/node-types';
import { graphProblems, type Problem, problemsByNode } from '../lib/rules';

export function useProblems(nodes: readonly FlowNode[], edges: readonly FlowEdge[], catalog: NodeCatalog) {
  const [serverProblems, setServerProblems] = useState<Problem[] | null>(null);
  const [showProblems, setShowProblems] = useState(false);
  // Compared as text so an edit that changes no hint keeps the same list (nodes do not redraw).
  const hintsKey = JSON.stringify(serverProblems ?? graphProblems(nodes, edges, catalog));
  const problemList = useMemo(() => JSON.parse(hintsKey) as Problem[], [hintsKey]);
  const problems = useMemo(() => problemsByNode(problemList), [problemList]);
  return { problemList, problems, fromServer: serverProblems !== null, setServerProblems, showProblems, setShowProblems };
}

export function ProblemsPanel({
  problems,
  fromServer,
  nodeName,
  onPick,
  onClose,
}: {
  problems: Problem[];
  fromServer: boolean;
  nodeName: (id: string) => string;
  onPick: (p: Problem) => void;
  onClose: () => void;
}) {
  return (
    <section className="problems" aria-label="Problems" data-testid="problems">
      <header>
        <strong>{fromServer ? 'Validation result' : 'Checks as you edit'}</strong>
        <button type="button" className="icon-btn" aria-label="Close problems" onClick={onClose}>
          ×
        </button>
      </header>
      {problems.length === 0 ? (
        <p className="muted">No problems found.</p>
      ) : (
        <ul>
          {problems.map((p, i) => (
            <li key={i}>
              <button type="button" className="link-btn" onClick={() => onPick(p)}>
                {p.node_id ? nodeName(p.node_id) : p.field.startsWith('settings') ? 'Journey settings' : 'Journey'}
              </button>{' '}
              <span className="muted small">{p.field}</span> {p.message}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
