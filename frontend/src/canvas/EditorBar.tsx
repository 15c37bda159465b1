// The editor's top bar: back link, journey name, status, save state, live dot, the panels'
// buttons and the status actions, plus the confirmation each status action asks for.
import { Link } from 'react-router';

import type { Journey } from '../api/client';
import { StatusBadge } from '../components/StatusBadge';
import { Button, Dialog } from '../components/ui';
import type { SaveState } from './useAutosave';
import type { Action } from './useJourneyActions';
import type { LiveMode } from './useLiveCounts';

const CONFIRM: Record<Action, { title: string; text: string; button: string; danger?: boolean }> = {
  start: {
    title: 'Start this journey?',
    text: 'The draft is published as a new version and customers who meet the entry rule start entering right away.',
    button: 'Start journey',
  },
  pause: { title: 'Pause this journey?', text: 'Nobody new enters and customers in the journey hold where they are until you resume.', button: 'Pause' },
  resume: { title: 'Resume this journey?', text: 'Customers continue from where they were held, and new customers can enter again.', button: 'Resume' },
  stop: {
    title: 'Stop this journey?',
    text: 'Every customer in the journey exits now (reason “journey stopped”) and the journey cannot be started again. This cannot be undone.',
    button: 'Stop journey',
    danger: true,
  },
};

const LIVE_DOT: Record<LiveMode, { text: string; title: string }> = {
  live: { text: 'Live', title: 'Counts are pushed as customers move' },
  connecting: { text: 'Connecting…', title: 'Opening the live connection' },
  polling: { text: 'Reconnecting…', title: 'The live connection dropped: counts refresh every few seconds until it is back' },
  unavailable: { text: 'Not live', title: 'Counts as of the last refresh' },
};

export function EditorBar({
  journey,
  name,
  onName,
  readOnly,
  save,
  live,
  busy,
  onToggle,
  onValidate,
  onAsk,
  onPublish,
}: {
  journey: Journey;
  name: string;
  onName: (name: string) => void;
  readOnly: boolean;
  save: { state: SaveState; error: string | null; retry: () => void };
  live: LiveMode | null;
  busy: string | null;
  onToggle: (panel: 'settings' | 'simulate') => void;
  onValidate: () => void;
  onAsk: (action: Action) => void;
  onPublish: () => void;
}) {
  const meta = journey;
  return (
    <header className="editor-bar">
      <Link to="/journeys" className="back" aria-label="Back to journeys">
        ←
      </Link>
      <input className="title-input" aria-label="Journey name" value={name} disabled={readOnly} title={name} maxLength={200} onChange={(e) => onName(e.target.value)} />
      <StatusBadge status={meta.status} />
      {meta.version != null && <span className="muted small">v{meta.version} live</span>}
      <SaveIndicator state={save.state} error={save.error} readOnly={readOnly} onRetry={save.retry} />
      <div className="grow" />
      {live && (
        <span className={`live-dot live-${live}`} role="status" title={LIVE_DOT[live].title}>
          {LIVE_DOT[live].text}
        </span>
      )}
      <Button onClick={() => onToggle('settings')}>Journey settings</Button>
      <Button onClick={() => onToggle('simulate')}>Simulate</Button>
      <Button onClick={onValidate} busy={busy === 'validate'}>
        Validate
      </Button>
      {!readOnly && meta.status === 'draft' && (
        <Button variant="primary" busy={busy === 'start'} onClick={() => onAsk('start')}>
          Start
        </Button>
      )}
      {!readOnly && meta.status === 'active' && (
        <>
          <Button variant="primary" onClick={onPublish}>
            Publish changes
          </Button>
          <Button busy={busy === 'pause'} onClick={() => onAsk('pause')}>
            Pause
          </Button>
        </>
      )}
      {!readOnly && meta.status === 'paused' && (
        <Button variant="primary" busy={busy === 'resume'} onClick={() => onAsk('resume')}>
          Resume
        </Button>
      )}
      {!readOnly && (meta.status === 'active' || meta.status === 'paused') && (
        <Button variant="danger" busy={busy === 'stop'} onClick={() => onAsk('stop')}>
          Stop
        </Button>
      )}
    </header>
  );
}

/** "Start this journey?" and the like: what the action does, Cancel or go. */
export function ConfirmAction({ action, onCancel, onConfirm }: { action: Action; onCancel: () => void; onConfirm: () => void }) {
  return (
    <Dialog
      title={CONFIRM[action].title}
      open
      onClose={onCancel}
      footer={
        <>
          <Button onClick={onCancel}>Cancel</Button>
          <Button variant={CONFIRM[action].danger ? 'danger' : 'primary'} onClick={onConfirm}>
            {CONFIRM[action].button}
          </Button>
        </>
      }
    >
      <p>{CONFIRM[action].text}</p>
    </Dialog>
  );
}

function SaveIndicator({ state, error, readOnly, onRetry }: { state: SaveState; error: string | null; readOnly: boolean; onRetry: () => void }) {
  if (readOnly) return null;
  if (state === 'error') {
    return (
      <span className="save save-error" role="alert" data-testid="save-state">
        Not saved: {error}{' '}
        <button type="button" className="link-btn" onClick={onRetry}>
          Retry
        </button>
      </span>
    );
  }
  const text = { saved: 'All changes saved', dirty: 'Unsaved changes…', saving: 'Saving…' }[state];
  return (
    <span className={`save save-${state}`} data-testid="save-state" aria-live="polite">
      {text}
    </span>
  );
}
