// The workspace's channel configs for the message forms (null while loading, [] when unreadable).
import { useEffect, useState } from 'react';

import { api, ok, type Schemas } from '../api/client';

export function useChannelConfigs(): Schemas['ChannelConfig'][] | null {
  const [configs, setConfigs] = useState<Schemas['ChannelConfig'][] | null>(null);
  useEffect(() => {
    let live = true;
    ok(api.GET('/api/v1/channels', { params: { query: { limit: 200 } } }))
      .then((page) => live && setConfigs(page.results))
      .catch(() => live && setConfigs([]));
    return () => {
      live = false;
    };
  }, []);
  return configs;
}
