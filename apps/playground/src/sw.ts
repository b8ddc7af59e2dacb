/// <reference lib="webworker" />
/**
 * The playground's service worker: after one online visit the app, the ONNX Runtime wasm and the model
 * folders are in a Cache, so a reload with the network cut still loads and runs the model.
 * - install: caches every file of the build (the list is written in by scripts/offline-plugin.ts);
 * - navigations: network first, the cached page when offline;
 * - everything else of this origin: cache first, then the network (and the answer is cached).
 */
declare const self: ServiceWorkerGlobalScope;
export {}; // a module, so `self` above is this file's own declaration

interface Precache {
  readonly version: string;
  readonly files: readonly string[];
}

// scripts/offline-plugin.ts replaces the literal with the JSON text of the build's Precache. Reading it
// through `self` keeps the minifier from folding the comparison below.
const raw: string =
  (self as unknown as Record<string, string | undefined>).decodekitPrecache ??
  '__DECODEKIT_PRECACHE__';
const manifest: Precache = raw.startsWith('{')
  ? (JSON.parse(raw) as Precache)
  : { version: 'dev', files: [] };
const cacheName = `decodekit-playground-${manifest.version}`;

self.addEventListener('install', event => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(cacheName);
      await cache.addAll(manifest.files.map(file => new URL(file, self.registration.scope).href));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', event => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith('decodekit-playground-') && name !== cacheName)
          await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

async function networkFirst(request: Request): Promise<Response> {
  const cache = await caches.open(cacheName);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (error) {
    const cached =
      (await cache.match(request, { ignoreSearch: true })) ??
      (await cache.match(new URL('./', self.registration.scope).href));
    if (cached) return cached;
    throw error;
  }
}

async function cacheFirst(request: Request): Promise<Response> {
  const cache = await caches.open(cacheName);
  const cached = await cache.match(request, { ignoreSearch: true });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok && response.type === 'basic') await cache.put(request, response.clone());
  return response;
}

self.addEventListener('fetch', event => {
  const { request } = event;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(request.mode === 'navigate' ? networkFirst(request) : cacheFirst(request));
});
