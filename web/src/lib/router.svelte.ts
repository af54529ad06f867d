// A small history-API router: the server answers every non-API path with
// index.html, so `/config/exits` can be bookmarked and reloaded. The query
// string holds a view's filters (`/?kind=order&q=SPY`), so a filtered view
// can be bookmarked and shared too.

class Router {
  path = $state(typeof location === 'undefined' ? '/' : location.pathname);
  /** The query string without its `?` (`kind=order&q=SPY`). */
  search = $state(typeof location === 'undefined' ? '' : location.search.replace(/^\?/u, ''));

  constructor() {
    if (typeof window !== 'undefined') {
      window.addEventListener('popstate', () => {
        this.path = location.pathname;
        this.search = location.search.replace(/^\?/u, '');
      });
    }
  }

  /** Goes to `path` (which may carry a query string). */
  navigate(path: string, replace = false): void {
    const [pathname = '/', search = ''] = path.split('?', 2);
    if (pathname === this.path && search === this.search) return;
    if (replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
    this.path = pathname;
    this.search = search;
  }

  /** Replaces the query string of the current path (no new history entry: typing a filter is not navigation). */
  setQuery(params: URLSearchParams): void {
    const search = params.toString();
    if (search === this.search) return;
    history.replaceState(null, '', search === '' ? this.path : `${this.path}?${search}`);
    this.search = search;
  }

  /** The query's parameters. */
  params = $derived(new URLSearchParams(this.search));

  /** The path's segments: `/config/exits` is ['config', 'exits']. */
  segments = $derived(this.path.split('/').filter((s) => s.length > 0));
}

export const router = new Router();
