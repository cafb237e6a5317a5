// Loaded by the hub into every lab page it proxies at /s/<learner>/. The site's pages call
// absolute paths (/api/…); this keeps them under the learner's prefix, and sends the heartbeats
// the idle culler reads: visible or hidden every 30 s and on each change, closed when the tab goes.
(() => {
  const prefix = document.currentScript.dataset.prefix;
  const inside = (path) => path.startsWith(`${prefix}/`) || path.startsWith('/hub/');
  const fixUrl = (value) => {
    const url = new URL(String(value), location.href);
    if (url.host === location.host && !inside(url.pathname)) url.pathname = prefix + url.pathname;
    return url.href;
  };
  const nativeFetch = window.fetch.bind(window);
  // The page's API calls omit credentials (alone, its token is its proof); behind the hub the
  // hub's session cookie is the proof, and the hub puts the pod's token on the request itself.
  window.fetch = (input, init) =>
    input instanceof Request ? nativeFetch(input, init) : nativeFetch(fixUrl(input), { ...init, credentials: 'same-origin' });
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(url, protocols) {
      super(fixUrl(url), protocols);
    }
  };
  // The editor's workers load from the site's absolute /_astro/ paths.
  const NativeWorker = window.Worker;
  window.Worker = class extends NativeWorker {
    constructor(url, options) {
      super(fixUrl(url), options);
    }
  };

  const pageId = crypto.randomUUID();
  const beat = (state) =>
    nativeFetch('/hub/api/heartbeat', {
      method: 'POST',
      keepalive: true,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pageId, state }),
    }).catch(() => undefined);
  const visibility = () => (document.visibilityState === 'visible' ? 'visible' : 'hidden');
  beat(visibility());
  setInterval(() => beat(visibility()), 30_000);
  document.addEventListener('visibilitychange', () => beat(visibility()));
  window.addEventListener('pagehide', () => beat('closed'));
})();
