// The visual email designer: GrapesJS with its MJML plugin (blocks, columns, styles, devices),
// compiled to responsive HTML by mjml-browser inside the plugin. Loaded only when opened.
import 'grapesjs/dist/css/grapes.min.css';

import grapesjs, { type Block, type Component, type Editor } from 'grapesjs';
import mjmlPlugin from 'grapesjs-mjml';
import { useEffect, useRef } from 'react';

import { BLOCKS, FOOTER_MJML, IMAGE_PLACEHOLDER } from './mjml';

export interface Design {
  mjml: string;
  html: string;
}

/** Compiles the editor's MJML; the HTML is what is sent. */
function designOf(editor: Editor): Design {
  const mjml = String(editor.runCommand('mjml-code'));
  const { html } = editor.runCommand('mjml-code-to-html') as { html: string };
  return { mjml, html };
}

/** A click (or Enter) on a block adds it without dragging: a section after the selected one (or
 * at the end), anything else after the selected element in its column (or in the first column). */
function placeBlock(block: Block, editor: Editor) {
  const content = block.get('content') as string;
  const selected = editor.getSelected();
  const body = editor.getWrapper()?.findType('mj-body')[0] ?? editor.getWrapper();
  if (!body) return;
  const within = (c: Component | undefined, type: string) => (c ? (c.is(type) ? c : c.closestType(type)) : undefined);
  let added: Component[];
  if (typeof content === 'string' && content.trimStart().startsWith('<mj-section')) {
    const section = within(selected, 'mj-section');
    added = body.components().add(content, section ? { at: section.index() + 1 } : {}) as unknown as Component[];
  } else {
    const column = within(selected, 'mj-column') ?? body.findType('mj-column')[0];
    if (!column) return;
    const inColumn = selected && selected !== column && selected.parent() === column;
    added = column.components().add(content, inColumn ? { at: selected.index() + 1 } : {}) as unknown as Component[];
  }
  const first = Array.isArray(added) ? added[0] : added;
  if (first) editor.select(first);
}

export default function EmailDesigner({ mjml, onChange }: { mjml: string; onChange: (d: Design) => void }) {
  const host = useRef<HTMLDivElement>(null);
  const changed = useRef(onChange);
  changed.current = onChange;
  useEffect(() => {
    if (!host.current) return;
    const editor = grapesjs.init({
      container: host.current,
      height: '100%',
      width: 'auto',
      storageManager: false,
      fromElement: false,
      blockManager: { appendOnClick: placeBlock },
      plugins: [(e: Editor) => mjmlPlugin(e, { blocks: BLOCKS, imagePlaceholderSrc: IMAGE_PLACEHOLDER })],
    });
    editor.Blocks.add('wm-footer', {
      label: 'Footer',
      category: 'Email',
      attributes: { title: 'Footer with the unsubscribe link' },
      media: '<svg viewBox="0 0 24 24"><path fill="currentColor" d="M3 16h18v4H3zM3 4h18v2H3z"/></svg>',
      content: FOOTER_MJML,
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    editor.on('load', () => {
      editor.setComponents(mjml);
      editor.Panels.getButton('views', 'open-blocks')?.set('active', true);
      // Save on every change, a little after it (compiling takes a few milliseconds).
      editor.on('update', () => {
        clearTimeout(timer);
        timer = setTimeout(() => changed.current(designOf(editor)), 250);
      });
      changed.current(designOf(editor));
    });
    return () => {
      clearTimeout(timer);
      // The last change, if its pause had not ended yet.
      if (editor.getModel().get('ready')) changed.current(designOf(editor));
      editor.destroy();
    };
    // The editor owns the design while open; `mjml` is only its starting point.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  return <div ref={host} className="email-designer" data-testid="email-designer" />;
}
