// A small history-API router: the server answers every non-API path with
// index.html, so `/config/exits` can be bookmarked and reloaded.

class Router {
  path = $state(typeof location === 'undefined' ? '/' : location.pathname);

  constructor() {
    if (typeof window !== 'undefined') {
      window.addEventListener('popstate', () => {
        this.path = location.pathname;
      });
    }
  }

  navigate(path: string, replace = false): void {
    if (path === this.path) return;
    if (replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
    this.path = path;
  }

  /** The path's segments: `/config/exits` is ['config', 'exits']. */
  segments = $derived(this.path.split('/').filter((s) => s.length > 0));
}

export const router = new Router();
