// The card every node type draws: icon, name, a one-line summary, live counts, problem marker,
// one input on top and one labelled output per handle along the bottom. The counts row is always
// there and one line high, so a node is as tall before customers arrive as after, and the edges
// laid out between nodes stay straight when the numbers come in. A forking node's output
// labels are renamed in place: double-click one (or focus it and press Enter) and type.
import { Handle, Position } from '@xyflow/react';
import { type KeyboardEvent, memo, type ReactNode, useState } from 'react';

import type { NodeCounts } from '../../api/analytics';
import type { JourneyNodeData, NodeKind } from '../../lib/graph';
import { canRenameHandle, handleLabel, handlesFor, hasInput } from '../../lib/node-types';
import { useCanvasInfo } from '../context';
import type { LiveMode } from '../useLiveCounts';

export interface ShellProps {
  id: string;
  kind: NodeKind;
  data: JourneyNodeData;
  selected: boolean;
  icon: string;
  tone: string;
  typeLabel: string;
  summary: ReactNode;
  /** message nodes show these delivery numbers instead of passed (sent, opened, …) */
  messageCounts?: string[];
}

function fmt(n: number | undefined): string {
  if (n === undefined) return '0';
  return n >= 10_000 ? `${(n / 1000).toFixed(n >= 100_000 ? 0 : 1)}k` : n.toLocaleString();
}

const LIVE_TITLES: Record<LiveMode, string> = {
  live: 'Live: counts update as customers move',
  connecting: 'Connecting to live counts…',
  polling: 'Live connection lost: refreshing every few seconds while reconnecting',
  unavailable: 'Counts as of the last refresh',
};
const NO_COUNTS_TITLE = 'Counts show here once the journey starts';

/** `counts` is null when the journey has no numbers at all (never started): dashes, same height. */
function Counts({ counts, message, failures, live }: { counts: NodeCounts | undefined | null; message?: string[]; failures: boolean; live: LiveMode }) {
  const delivery = (counts?.messages ?? {}) as Record<string, number | undefined>;
  const items: [string, number | undefined][] = message
    ? [['entered', counts?.entered], ...message.map((m): [string, number | undefined] => [m, delivery[m]])]
    : [
        ['entered', counts?.entered],
        ['waiting', counts?.waiting],
        ['passed', counts?.passed],
      ];
  // A step that can fail (a send, a call) always shows its failures: a failed send whose Failed
  // output is unconnected goes on along Next, and this is where the marketer sees it happened.
  if (failures) items.push(['failed', counts?.failed]);
  return (
    <div className={`node-counts counts-${live}`} data-testid="node-counts" data-live={live} title={counts === null ? NO_COUNTS_TITLE : LIVE_TITLES[live]}>
      <span className="counts-dot" aria-hidden />
      {items.map(([label, value]) => (
        <span key={label} className={`count${label === 'failed' && value ? ' count-failed' : ''}`} data-count={label}>
          <b>{counts === null ? '–' : fmt(value)}</b> <span className="count-label">{label}</span>
        </span>
      ))}
    </div>
  );
}

/** One output's label; a renamable one turns into a text box on double-click or Enter. */
function OutputLabel({ nodeId, handle, label, rename }: { nodeId: string; handle: string; label: string; rename: ((text: string) => void) | null }) {
  const [editing, setEditing] = useState(false);
  if (!rename) return <span className="handle-label">{label}</span>;
  if (editing) {
    const done = (text: string | null) => {
      setEditing(false);
      if (text !== null && text.trim() !== label) rename(text.trim());
    };
    return (
      <input
        className="handle-label-input nodrag nopan"
        aria-label={`Name of output ${label}`}
        defaultValue={label}
        maxLength={60}
        autoFocus
        onFocus={(e) => e.target.select()}
        onBlur={(e) => done(e.target.value)}
        onKeyDown={(e) => {
          e.stopPropagation(); // typing here must not reach the canvas shortcuts
          if (e.key === 'Enter') done(e.currentTarget.value);
          if (e.key === 'Escape') done(null);
        }}
      />
    );
  }
  const start = (e: KeyboardEvent) => {
    if (e.key === 'Enter' || e.key === 'F2') {
      e.preventDefault();
      e.stopPropagation();
      setEditing(true);
    }
  };
  return (
    <span
      className="handle-label renamable"
      role="button"
      tabIndex={0}
      title="Double-click to rename this output"
      data-handle-label={`${nodeId}:${handle}`}
      onDoubleClick={(e) => {
        e.stopPropagation();
        setEditing(true);
      }}
      onKeyDown={start}
    >
      {label}
    </span>
  );
}

export const NodeShell = memo(function NodeShell(p: ShellProps) {
  const { catalog, problems, counts, path, live, renameHandle } = useCanvasInfo();
  const { name, config, handle_labels: labels } = p.data;
  const info = catalog.get(p.kind);
  const mine = problems.get(p.id);
  const handles = handlesFor(info, config);
  const classes = ['wm-node', `tone-${p.tone}`];
  if (p.selected) classes.push('selected');
  if (mine?.length) classes.push('invalid');
  if (path && !path.has(p.id)) classes.push('dimmed');
  if (path?.has(p.id)) classes.push('on-path');
  return (
    <div className={classes.join(' ')} data-node-id={p.id} data-node-type={p.kind}>
      {hasInput(info) && <Handle type="target" position={Position.Top} className="wm-handle-in" />}
      <div className="node-head">
        <span className="node-icon" aria-hidden>
          {p.icon}
        </span>
        <div className="node-titles">
          <div className="node-type">{p.typeLabel}</div>
          <div className="node-name">{name || p.typeLabel}</div>
        </div>
        {mine && mine.length > 0 && (
          <span className="node-problem" title={mine.map((m) => m.message).join('\n')} data-testid="node-problem">
            {mine.length}
          </span>
        )}
      </div>
      <div className="node-summary">{p.summary}</div>
      <Counts counts={counts ? counts.get(p.id) : null} message={p.messageCounts} failures={handles.includes('failed')} live={live} />
      {handles.length > 0 && (
        <div className="node-outputs">
          {handles.map((h) => (
            <div key={h} className="node-output">
              <OutputLabel
                nodeId={p.id}
                handle={h}
                label={handleLabel(info, config, h, labels)}
                rename={renameHandle && canRenameHandle(info, config, h) ? (text) => renameHandle(p.id, h, text) : null}
              />
              <Handle type="source" id={h} position={Position.Bottom} className={`wm-handle-out handle-${h}`} />
            </div>
          ))}
        </div>
      )}
    </div>
  );
});
