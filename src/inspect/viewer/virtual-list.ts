/**
 * A list of any length in a box of fixed height: only the rows in view (and a few around them)
 * exist in the page; a spacer gives the scroll bar the whole list's height. Rows are of one height.
 */
export class VirtualList<T> {
  private items: readonly T[] = [];
  private readonly spacer = document.createElement('div');
  private readonly rows = document.createElement('div');
  private drawn = '';

  constructor(
    private readonly box: HTMLElement,
    private readonly rowHeight: number,
    private readonly row: (item: T, index: number) => HTMLElement,
  ) {
    box.style.position = 'relative';
    box.style.overflowY = 'auto';
    this.spacer.style.height = '0px';
    this.rows.style.position = 'absolute';
    this.rows.style.left = '0';
    this.rows.style.right = '0';
    box.replaceChildren(this.spacer, this.rows);
    box.addEventListener('scroll', () => this.draw(false));
  }

  set(items: readonly T[]): void {
    this.items = items;
    this.spacer.style.height = `${items.length * this.rowHeight}px`;
    this.draw(true);
  }

  /** Rows in the page now (for tests and measurements). */
  get rendered(): number {
    return this.rows.childElementCount;
  }

  private draw(changed: boolean): void {
    const height = this.box.clientHeight || 240;
    const first = Math.max(0, Math.floor(this.box.scrollTop / this.rowHeight) - 5);
    const last = Math.min(this.items.length, Math.ceil((this.box.scrollTop + height) / this.rowHeight) + 5);
    const key = `${first}:${last}`;
    if (!changed && key === this.drawn) return;
    this.drawn = key;
    this.rows.style.top = `${first * this.rowHeight}px`;
    const rows: HTMLElement[] = [];
    for (let i = first; i < last; i++) {
      const element = this.row(this.items[i]!, i);
      element.style.height = `${this.rowHeight}px`;
      rows.push(element);
    }
    this.rows.replaceChildren(...rows);
  }
}
