/**
 * Draws a statechart into an SVG, laid out by dagre, and marks the active state, the states
 * visited and the edges taken.
 */
import dagre from '@dagrejs/dagre';
import type { Statechart } from './statechart.js';

const SVG = 'http://www.w3.org/2000/svg';
const NODE_HEIGHT = 40;
const LABEL_LINE = 14;

export class GraphView {
  private readonly nodes = new Map<string, SVGGElement>();
  private readonly edges = new Map<string, SVGGElement>();
  /** Where each edge's label sits: a note (a loop's count) goes just above it. */
  private readonly labelAt = new Map<string, { x: number; y: number }>();

  constructor(
    private readonly svg: SVGSVGElement,
    chart: Statechart,
  ) {
    this.draw(chart);
  }

  /** `taken` holds "source->target" pairs. */
  show(active: string | null, visited: Set<string>, taken: Set<string>): void {
    for (const [id, node] of this.nodes) {
      node.classList.toggle('active', id === active);
      node.classList.toggle('visited', visited.has(id));
    }
    for (const [key, edge] of this.edges) edge.classList.toggle('taken', taken.has(key));
  }

  /** Marks a state by an outcome the report gives it (a gate passed or failed); null clears it. */
  markOutcome(id: string, passed: boolean | null, why: string): void {
    const node = this.nodes.get(id);
    if (!node) return;
    node.classList.toggle('outcome-passed', passed === true);
    node.classList.toggle('outcome-failed', passed === false);
    const title = node.querySelector<SVGTitleElement>('title') ?? document.createElementNS(SVG, 'title');
    if (passed === null) {
      title.remove();
      return;
    }
    title.textContent = why;
    node.append(title);
  }

  /** Writes `notes` (keyed "source->target": a loop's attempt or cycle count) on their edges; others lose theirs. */
  annotate(notes: ReadonlyMap<string, string>): void {
    for (const [key, edge] of this.edges) {
      const text = notes.get(key);
      let note = edge.querySelector<SVGTextElement>('text.note');
      // A loop taken within one stage (a retry) leaves no transition: its note marks it taken.
      edge.classList.toggle('looped', Boolean(text));
      if (!text) {
        note?.remove();
        continue;
      }
      if (!note) {
        const at = this.labelAt.get(key)!;
        note = el('text', { class: 'note', x: at.x, y: at.y - 3, 'text-anchor': 'middle' });
        edge.append(note);
        edge.classList.add('noted');
      }
      note.textContent = text;
    }
  }

  private draw(chart: Statechart): void {
    const g = new dagre.graphlib.Graph({ multigraph: false });
    g.setGraph({ rankdir: 'TB', nodesep: 24, ranksep: 36, edgesep: 12, marginx: 16, marginy: 16 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const node of chart.nodes) g.setNode(node.id, { width: Math.max(110, node.id.length * 8.5 + 32), height: NODE_HEIGHT });
    const primary = chart.edges.filter((edge) => !edge.secondary);
    for (const edge of primary) {
      const width = Math.max(...edge.labels.map((l) => l.length)) * 6.7 + 8;
      g.setEdge(edge.source, edge.target, { width, height: edge.labels.length * LABEL_LINE + 4, labelpos: 'c' });
    }
    dagre.layout(g);
    const { width = 400, height = 300 } = g.graph();
    this.svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    this.svg.style.maxWidth = `${width}px`;
    this.svg.replaceChildren(arrowMarker());
    const edgeLayer = el('g', { class: 'edges' });
    const nodeLayer = el('g', { class: 'nodes' });
    this.svg.append(edgeLayer, nodeLayer);

    for (const edge of primary) {
      const layout = g.edge(edge.source, edge.target) as { points: { x: number; y: number }[]; x: number; y: number; height: number; width: number };
      const group = el('g', { class: 'edge', 'data-source': edge.source, 'data-target': edge.target });
      const d = layout.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
      group.append(el('path', { d, 'marker-end': 'url(#arrow)' }));
      const top = layout.y - layout.height / 2;
      this.labelAt.set(`${edge.source}->${edge.target}`, { x: layout.x, y: top });
      group.append(el('rect', { class: 'label-bg', x: layout.x - layout.width / 2, y: top, width: layout.width, height: layout.height, rx: 3 }));
      edge.labels.forEach((label, i) => {
        const text = el('text', { x: layout.x, y: top + LABEL_LINE * (i + 1), 'text-anchor': 'middle' });
        text.textContent = label;
        group.append(text);
      });
      edgeLayer.append(group);
      this.edges.set(`${edge.source}->${edge.target}`, group);
    }
    // Rare paths: a straight dashed line between the two states, shown once taken.
    for (const edge of chart.edges.filter((e) => e.secondary)) {
      const from = g.node(edge.source) as { x: number; y: number };
      const to = g.node(edge.target) as { x: number; y: number };
      const group = el('g', { class: 'edge secondary', 'data-source': edge.source, 'data-target': edge.target });
      group.append(el('path', { d: `M${from.x.toFixed(1)},${from.y.toFixed(1)} L${to.x.toFixed(1)},${to.y.toFixed(1)}`, 'marker-end': 'url(#arrow)' }));
      this.labelAt.set(`${edge.source}->${edge.target}`, { x: (from.x + to.x) / 2, y: (from.y + to.y) / 2 - 16 });
      const text = el('text', { x: (from.x + to.x) / 2, y: (from.y + to.y) / 2 - 4, 'text-anchor': 'middle' });
      text.textContent = edge.labels.join(' | ');
      group.append(text);
      edgeLayer.append(group);
      this.edges.set(`${edge.source}->${edge.target}`, group);
    }
    for (const node of chart.nodes) {
      const layout = g.node(node.id) as { x: number; y: number; width: number; height: number };
      const classes = ['node', node.final ? 'final' : node.waiting ? 'waiting' : 'stage', node.id].join(' ');
      const group = el('g', { class: classes, id: `state-${node.id}`, 'data-state': node.id });
      group.append(
        el('rect', { x: layout.x - layout.width / 2, y: layout.y - layout.height / 2, width: layout.width, height: layout.height, rx: node.final ? 20 : 6 }),
      );
      const text = el('text', { x: layout.x, y: layout.y + 5, 'text-anchor': 'middle' });
      text.textContent = node.id;
      group.append(text);
      nodeLayer.append(group);
      this.nodes.set(node.id, group);
    }
  }
}

function arrowMarker(): SVGElement {
  const defs = el('defs', {});
  const marker = el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
  marker.append(el('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#9aa0b0' }));
  defs.append(marker);
  return defs;
}

function el<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string | number>): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}
