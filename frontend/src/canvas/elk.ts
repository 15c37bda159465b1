// ELK running in a Web Worker, so Auto Arrange of a large journey does not block the page.
import ELK from 'elkjs/lib/elk-api.js';
import workerUrl from 'elkjs/lib/elk-worker.min.js?url';

let instance: InstanceType<typeof ELK> | null = null;

export function workerElk(): InstanceType<typeof ELK> {
  instance ??= new ELK({ workerFactory: () => new Worker(workerUrl) });
  return instance;
}
