// The card every node type draws: icon, name, a one-line summary, live counts, problem marker,
// one input on top and one labelled output per handle along the bottom.
import { Handle, Position } from '@xyflow/react';
import { memo, type ReactNode } from 'react';

import type { NodeCounts } from '../../api/analytics';
import type { Config, NodeKind } from '../../lib/graph';
import { handleLabel, handlesFor, hasInput } from '../../lib/handles';
import { useCanvasInfo } from '../context';

export interface ShellProps {
  id: string;
  kind: NodeKind;
  name: string;
  config: Config;
  selected: boolean;
  icon: string;
  tone: string;
  typeLabel: string;
  summary: ReactNode;
  /** message nodes show delivery numbers instead of passed */
  messageCounts?: boolean;
}

function fmt(n: number | undefined): string {
  if (n === undefined) return '0';
  return n >= 10_000 ? `${(n / 1000).toFixed(n >= 100_000 ? 0 : 1)}k` : n.toLocaleString();
}

function Counts({ counts, message }: { counts: NodeCounts | undefined; message?: boolean }) {
  const items: [string, number | undefined][] = message
    ? [
        ['entered', counts?.entered],
        ['sent', counts?.messages?.sent],
        ['opened', counts?.messages?.opened],
        ['clicked', counts?.messages?.clicked],
      ]
    : [
        ['entered', counts?.entered],
        ['waiting', counts?.waiting],
        ['passed', counts?.passed],
      ];
  return (
    <div className="node-counts" data-testid="node-counts">
      {items.map(([label, value]) => (
        <span key={label} className="count" data-count={label}>
          <b>{fmt(value)}</b> {label}
        </span>
      ))}
    </div>
  );
}

export const NodeShell = memo(function NodeShell(p: ShellProps) {
  const { problems, counts, path } = useCanvasInfo();
  const mine = problems.get(p.id);
  const handles = handlesFor(p.kind, p.config);
  const classes = ['wm-node', `tone-${p.tone}`];
  if (p.selected) classes.push('selected');
  if (mine?.length) classes.push('invalid');
  if (path && !path.has(p.id)) classes.push('dimmed');
  if (path?.has(p.id)) classes.push('on-path');
  return (
    <div className={classes.join(' ')} data-node-id={p.id} data-node-type={p.kind}>
      {hasInput(p.kind) && <Handle type="target" position={Position.Top} className="wm-handle-in" />}
      <div className="node-head">
        <span className="node-icon" aria-hidden>
          {p.icon}
        </span>
        <div className="node-titles">
          <div className="node-type">{p.typeLabel}</div>
          <div className="node-name">{p.name || p.typeLabel}</div>
        </div>
        {mine && mine.length > 0 && (
          <span className="node-problem" title={mine.map((m) => m.message).join('\n')} data-testid="node-problem">
            {mine.length}
          </span>
        )}
      </div>
      <div className="node-summary">{p.summary}</div>
      {counts && <Counts counts={counts.get(p.id)} message={p.messageCounts} />}
      {handles.length > 0 && (
        <div className="node-outputs">
          {handles.map((h) => (
            <div key={h} className="node-output">
              <span className="handle-label">{handleLabel(p.kind, p.config, h)}</span>
              <Handle type="source" id={h} position={Position.Bottom} className={`wm-handle-out handle-${h}`} />
            </div>
          ))}
        </div>
      )}
    </div>
  );
});
