// Which side panel is open beside the canvas: one node's settings, the journey settings or the
// simulator (one at a time).
import { useCallback, useState } from 'react';

export type SidePanel = { kind: 'node'; id: string } | { kind: 'settings' } | { kind: 'simulate' } | null;

export function usePanels() {
  const [panel, setPanel] = useState<SidePanel>(null);
  const openNode = useCallback((id: string) => setPanel({ kind: 'node', id }), []);
  const openSettings = useCallback(() => setPanel({ kind: 'settings' }), []);
  const close = useCallback(() => setPanel(null), []);
  /** Opens the journey settings or the simulator, or closes it when it is the one open. */
  const toggle = useCallback((kind: 'settings' | 'simulate') => setPanel((p) => (p?.kind === kind ? null : { kind })), []);
  /** Closes the node panel (a click on the empty canvas, or its node was deleted). */
  const closeNode = useCallback((removed?: Set<string>) => setPanel((p) => (p?.kind === 'node' && (!removed || removed.has(p.id)) ? null : p)), []);
  return { panel, selectedId: panel?.kind === 'node' ? panel.id : null, openNode, openSettings, close, toggle, closeNode };
}
