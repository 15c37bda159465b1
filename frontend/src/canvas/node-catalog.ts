// The node types from the server, fetched once per page load and shared by every canvas.
import { api, ok } from '../api/client';
import type { NodeCatalog } from '../lib/node-types';
import { canvasCatalog } from './nodes';

let loading: Promise<NodeCatalog> | null = null;

export function loadNodeCatalog(): Promise<NodeCatalog> {
  loading ??= ok(api.GET('/api/v1/node-types'))
    .then((answer) => canvasCatalog(answer.results))
    .catch((e) => {
      loading = null; // a failed load is tried again next time
      throw e;
    });
  return loading;
}
