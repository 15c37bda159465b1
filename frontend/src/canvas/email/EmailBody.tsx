// An email's body: designed in the visual editor (MJML, compiled to responsive HTML) or written
// as HTML by hand. The design is kept in `content.mjml`; `content.html` is always what is sent.
import { lazy, type ReactNode, Suspense, useState } from 'react';

import { STARTER_MJML } from './mjml';

const EmailDesigner = lazy(() => import('./EmailDesigner'));

export function EmailBody({ content, onChange, children }: { content: Record<string, unknown>; onChange: (c: Record<string, unknown>) => void; children: ReactNode }) {
  const visual = typeof content.mjml === 'string';
  const [open, setOpen] = useState(false);
  const toVisual = () => {
    onChange({ ...content, mjml: typeof content.mjml === 'string' ? content.mjml : STARTER_MJML });
    setOpen(true);
  };
  const toHtml = () => {
    // The HTML the design compiled to stays, to edit by hand; the design is left behind.
    const rest = { ...content };
    delete rest.mjml;
    onChange(rest);
  };
  return (
    <div className="stack">
      <div className="segmented" role="radiogroup" aria-label="Email body">
        <label className={visual ? 'on' : ''}>
          <input type="radio" name="email-body" checked={visual} onChange={toVisual} /> Visual editor
        </label>
        <label className={visual ? '' : 'on'}>
          <input type="radio" name="email-body" checked={!visual} onChange={toHtml} /> HTML
        </label>
      </div>
      {visual ? (
        <p className="row-gap">
          <span className="muted small">Designed in blocks; sent as responsive HTML.</span>
          <button type="button" className="btn btn-sm btn-primary" onClick={() => setOpen(true)}>
            Open the email designer
          </button>
        </p>
      ) : (
        children
      )}
      {open && visual && (
        <div className="designer-overlay" role="dialog" aria-modal="true" aria-label="Email designer">
          <header className="designer-head">
            <h2>Email designer</h2>
            <span className="muted small">Drag a block from the right onto the email, or click it to add it below the selected element; click an element to style it. The footer carries the unsubscribe link.</span>
            <button type="button" className="btn btn-primary" onClick={() => setOpen(false)}>
              Done
            </button>
          </header>
          <Suspense fallback={<p className="loading">Loading the designer…</p>}>
            <EmailDesigner mjml={String(content.mjml)} onChange={(d) => onChange({ ...content, ...d })} />
          </Suspense>
        </div>
      )}
    </div>
  );
}
