// The trigger: where customers enter; its card and panel show the journey's entry rule.
import { Button } from '../../components/ui';
import { entrySummary } from '../../lib/settings';
import { useCanvasInfo } from '../context';
import type { FormProps, NodeUi } from './node-ui';

function Summary() {
  const { settings } = useCanvasInfo();
  return <>{entrySummary(settings.entry)}</>;
}

function Form({ openSettings }: FormProps) {
  const { settings } = useCanvasInfo();
  return (
    <div className="stack">
      <p>
        Entry: <strong>{entrySummary(settings.entry)}</strong>
      </p>
      <Button onClick={openSettings}>Edit entry, audience and exit rules</Button>
    </div>
  );
}

export const ui: NodeUi = { type: 'start', Summary, Form };
