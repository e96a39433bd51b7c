// What the router gives a view: where to draw, whether it is still the page shown (a slow answer
// must not draw over the next view), and where to register what must be destroyed on leaving.
import type { Dispose } from '../charts.js';

export interface ViewContext {
  root: HTMLElement;
  live: () => boolean;
  track: (d: Dispose) => void;
  /** The hash's query (after `?`): the views that take a time range read it from here (range.ts). */
  query: URLSearchParams;
}

export type View = (ctx: ViewContext, ...params: string[]) => Promise<void>;
