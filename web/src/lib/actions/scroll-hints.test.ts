import { describe, expect, it } from 'vitest';
import { hiddenEdges } from './scroll-hints';

describe('scroll hints', () => {
  it('says which edges hide content', () => {
    expect(hiddenEdges(0, 390, 390)).toEqual({ start: false, end: false });
    expect(hiddenEdges(0, 390, 520)).toEqual({ start: false, end: true });
    expect(hiddenEdges(60, 390, 520)).toEqual({ start: true, end: true });
    expect(hiddenEdges(129.5, 390, 520)).toEqual({ start: true, end: false });
  });
});
