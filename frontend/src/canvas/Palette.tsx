// The palette, built from the server's node types: items are dragged onto the canvas (HTML5 drag
// and drop); Enter or a click on an item adds it too, so the palette works from the keyboard.
import { type DragEvent, useMemo } from 'react';

import { DRAG_MIME, type NodeCatalog, type PaletteItem, paletteGroups } from '../lib/node-types';

export function Palette({ catalog, onAdd, disabled, hasStart }: { catalog: NodeCatalog; onAdd: (item: PaletteItem) => void; disabled: boolean; hasStart: boolean }) {
  const groups = useMemo(() => paletteGroups(catalog), [catalog]);
  const start = (e: DragEvent, item: PaletteItem) => {
    e.dataTransfer.setData(DRAG_MIME, item.key);
    e.dataTransfer.effectAllowed = 'move';
  };
  return (
    <nav className="palette" aria-label="Palette">
      {groups.map((group) => (
        <section key={group.title}>
          <h3>{group.title}</h3>
          <ul>
            {group.items.map((item) => {
              const off = disabled || (item.kind === 'start' && hasStart);
              return (
                <li key={item.key}>
                  <button
                    type="button"
                    className={`palette-item kind-${item.kind}`}
                    draggable={!off}
                    disabled={off}
                    title={item.kind === 'start' && hasStart ? 'A journey has one trigger' : item.hint}
                    data-palette={item.key}
                    onDragStart={(e) => start(e, item)}
                    onClick={() => onAdd(item)}
                  >
                    {item.label}
                  </button>
                </li>
              );
            })}
          </ul>
        </section>
      ))}
    </nav>
  );
}
