// A hand-off to another journey: the card names the target, the form picks it by name.
import { useEffect, useState } from 'react';

import { api, errorMessage, ok } from '../../api/client';
import { Field } from '../../components/ui';
import type { JourneyNodeData } from '../../lib/graph';
import type { FormProps, NodeUi } from './node-ui';

interface Target {
  id: number;
  name: string;
  status: string;
}

// Names of journeys seen by any picker on this page, so cards can name their target.
const names = new Map<number, string>();

/** The target's name: known from a picker, else read once (a card shows it from the first load). */
function useJourneyName(id: unknown): string | undefined {
  const [name, setName] = useState<string | undefined>(typeof id === 'number' ? names.get(id) : undefined);
  useEffect(() => {
    if (typeof id !== 'number') return;
    const known = names.get(id);
    if (known !== undefined) return setName(known);
    let live = true;
    ok(api.GET('/api/v1/journeys/{id}', { params: { path: { id: String(id) } } }))
      .then((j) => {
        names.set(id, j.name);
        if (live) setName(j.name);
      })
      .catch(() => undefined); // gone or foreign: the card keeps the id and Validate names the problem
    return () => {
      live = false;
    };
  }, [id]);
  return name;
}

function Summary({ data }: { data: JourneyNodeData }) {
  const id = data.config.journey_id;
  const name = useJourneyName(id);
  if (typeof id !== 'number') return <span className="muted">No journey chosen</span>;
  return <span className="clip">Enroll in “{name ?? `journey ${id}`}”</span>;
}

function Form({ config, set, errors, journeyId }: FormProps) {
  const [search, setSearch] = useState('');
  const [found, setFound] = useState<Target[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    const t = setTimeout(() => {
      ok(api.GET('/api/v1/journeys', { params: { query: { search: search || undefined, limit: 100 } } }))
        .then((page) => {
          if (!live) return;
          const others = page.results.filter((j) => j.id !== journeyId).map((j) => ({ id: j.id, name: j.name, status: j.status }));
          for (const j of others) names.set(j.id, j.name);
          setFound(others);
          setError(null);
        })
        .catch((e) => live && setError(errorMessage(e)));
    }, 200);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [search, journeyId]);
  const chosen = typeof config.journey_id === 'number' ? config.journey_id : null;
  const options = found ?? [];
  return (
    <div className="stack">
      <Field label="Find a journey">
        <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="Part of the name" />
      </Field>
      <Field label="Journey *" hint="Customers enter it if its audience, window and re-entry rules let them; otherwise they take “Failed”." error={errors('journey_id')}>
        <select value={chosen ?? ''} onChange={(e) => set({ journey_id: e.target.value ? Number(e.target.value) : undefined })}>
          <option value="">Choose a journey…</option>
          {chosen !== null && !options.some((j) => j.id === chosen) && <option value={chosen}>{names.get(chosen) ?? `Journey ${chosen}`}</option>}
          {options.map((j) => (
            <option key={j.id} value={j.id}>
              {j.name} ({j.status})
            </option>
          ))}
        </select>
      </Field>
      {error && <p className="form-error">{error}</p>}
    </div>
  );
}

export const ui: NodeUi = { type: 'journey', Summary, Form };
