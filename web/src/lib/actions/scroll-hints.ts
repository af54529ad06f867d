// Marks a scrolling box with whether there is more to see on each
// side (`data-more-start`, `data-more-end`), so CSS can fade that edge: on a
// phone the navigation shows that it scrolls. Also keeps the current item
// (`aria-current`) in view when it changes, and makes a box that scrolls
// but holds nothing focusable a Tab stop, so a keyboard can scroll it too.
import type { Action } from 'svelte/action';

/** Which edges of a box hide content, from its scroll position (1 px of slack for sub-pixel layouts). */
export function hiddenEdges(scrollLeft: number, clientWidth: number, scrollWidth: number): { start: boolean; end: boolean } {
  return { start: scrollLeft > 1, end: scrollLeft + clientWidth < scrollWidth - 1 };
}

const FOCUSABLE = 'a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"])';

export const scrollHints: Action<HTMLElement> = (node) => {
  const update = (): void => {
    const edges = hiddenEdges(node.scrollLeft, node.clientWidth, node.scrollWidth);
    node.toggleAttribute('data-more-start', edges.start);
    node.toggleAttribute('data-more-end', edges.end);
    const scrolls = node.scrollWidth > node.clientWidth + 1 || node.scrollHeight > node.clientHeight + 1;
    if (scrolls && node.querySelector(FOCUSABLE) === null) node.setAttribute('tabindex', '0');
    else node.removeAttribute('tabindex');
  };
  const current = (): void => {
    node.querySelector('[aria-current]')?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
    update();
  };
  const resize = new ResizeObserver(update);
  resize.observe(node);
  const mutations = new MutationObserver(current);
  mutations.observe(node, { subtree: true, attributes: true, attributeFilter: ['aria-current'], childList: true });
  node.addEventListener('scroll', update, { passive: true });
  current();
  return {
    destroy() {
      resize.disconnect();
      mutations.disconnect();
      node.removeEventListener('scroll', update);
    },
  };
};
