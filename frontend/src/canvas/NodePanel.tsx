// The settings panel of the selected node: its name, its type's form (the type's own file under
// nodes/, else one generated from its config schema) and its output names. Every edit calls
// `onChange` with the whole new node data; field errors come from the hints or the last Validate.
import type { ReactNode } from 'react';

import { Button, Field } from '../components/ui';
import { type Config, type JourneyNodeData, mergeConfig, type NodeKind } from '../lib/graph';
import { canRenameHandle, handleLabel, handlesFor, isListHandle, type NodeTypeInfo, renameHandle } from '../lib/node-types';
import type { Problem } from '../lib/rules';
import type { JsonSchema } from '../lib/schema';
import { useCanvasInfo } from './context';
import { NODE_UI } from './nodes';
import type { Errors, FormProps } from './nodes/node-ui';
import { SchemaForm } from './SchemaForm';

export function NodePanel({
  id,
  kind,
  data,
  journeyId,
  readOnly,
  onChange,
  onDelete,
  onClose,
  onOpenSettings,
  children,
}: {
  id: string;
  kind: NodeKind;
  data: JourneyNodeData;
  journeyId: number;
  readOnly: boolean;
  onChange: (data: JourneyNodeData) => void;
  onDelete: () => void;
  onClose: () => void;
  onOpenSettings: () => void;
  /** more sections under the form (the outputs' "Connect to") */
  children?: ReactNode;
}) {
  const { catalog, problems } = useCanvasInfo();
  const info = catalog.get(kind);
  const ui = NODE_UI.get(kind);
  const title = info?.label ?? kind;
  const mine: Problem[] = problems.get(id) ?? [];
  const errors: Errors = (field) => {
    const found = mine.filter((p) => p.field === `config.${field}`).map((p) => p.message);
    return found.length ? found : undefined;
  };
  const other = mine.filter((p) => !p.field.startsWith('config.') || p.field === 'config');
  const replace = (config: Config) => onChange({ ...data, config });
  const props: FormProps = { config: data.config, set: (patch) => replace(mergeConfig(data.config, patch)), errors, journeyId, openSettings: onOpenSettings };

  return (
    <aside
      className="side-panel"
      aria-label="Node settings"
      data-testid="node-panel"
      onKeyDown={(e) => {
        // Escape closes the panel, unless it closes something open inside it first.
        const at = e.target as HTMLElement;
        if (e.key === 'Escape' && !e.defaultPrevented && at.getAttribute('aria-expanded') !== 'true' && !at.closest('dialog')) {
          e.preventDefault();
          onClose();
        }
      }}
    >
      <header className="side-head">
        <div>
          <div className="muted small">{ui?.panelTitle?.(data.config) ?? title}</div>
          <h2>{data.name || title}</h2>
        </div>
        <button type="button" className="icon-btn" aria-label="Close panel" onClick={onClose}>
          ×
        </button>
      </header>
      <fieldset className="side-body" disabled={readOnly}>
        <Field label="Name" hint={`Node id: ${id}`}>
          <input value={data.name} onChange={(e) => onChange({ ...data, name: e.target.value })} placeholder={title} />
        </Field>
        {other.map((p) => (
          <p key={p.field + p.message} className="form-error">
            {p.message}
          </p>
        ))}
        {ui?.Form ? <ui.Form {...props} /> : info && <SchemaForm schema={info.config_schema as JsonSchema} config={data.config} replace={replace} errors={errors} />}
        <OutputNames info={info} data={data} onChange={onChange} />
        {children}
      </fieldset>
      {!readOnly && (
        <footer className="side-foot">
          <Button variant="danger" size="sm" onClick={onDelete}>
            Delete node
          </Button>
        </footer>
      )}
    </aside>
  );
}

/** Names for a fork's outputs that no group or path names (event arrived / timed out, yes / no,
 * everyone else); the same names can be edited on the canvas by double-clicking a label. */
function OutputNames({ info, data, onChange }: { info: NodeTypeInfo | undefined; data: JourneyNodeData; onChange: (data: JourneyNodeData) => void }) {
  const outputs = handlesFor(info, data.config).filter((h) => canRenameHandle(info, data.config, h) && !isListHandle(info, data.config, h));
  if (outputs.length === 0) return null;
  return (
    <section className="stack" aria-label="Output names">
      <h3 className="small">Output names</h3>
      {outputs.map((h) => (
        <Field key={h} label={`Name of output “${handleLabel(info, data.config, h)}”`} hint={h === outputs[0] ? 'Shown on the canvas; double-click a label there to rename it too.' : undefined}>
          <input value={data.handle_labels?.[h] ?? ''} placeholder={handleLabel(info, data.config, h)} onChange={(e) => onChange(renameHandle(info, data, h, e.target.value))} />
        </Field>
      ))}
    </section>
  );
}
