/**
 * A stage's plan as a DAG: one node per step, an edge from each step it `needs`, laid out left to
 * right by dagre, each node coloured by its step's state. Clicking a node opens the step's details.
 * Past MAX_DAG_STEPS steps a drawing says nothing a reader can follow (and costs the page): the
 * stage's line then says so, and the filter and the details find a step.
 */
import dagre from '@dagrejs/dagre';
import type { StepState } from './steps-view.js';

export const MAX_DAG_STEPS = 150;
const SVG = 'http://www.w3.org/2000/svg';
const NODE_W = 96;
const NODE_H = 24;

interface Drawn {
  svg: SVGSVGElement;
  nodes: Map<string, SVGGElement>;
  key: string;
}

/** Stage → its drawing, kept while the plan's shape is the same (only states change as the run goes). */
const drawn = new Map<string, Drawn>();

export function renderStepDag(
  stage: string,
  steps: readonly { id: string; needs: readonly string[] }[],
  states: ReadonlyMap<string, StepState>,
  onSelect: (stage: string, step: string) => void,
): SVGSVGElement | null {
  if (steps.length === 0 || steps.length > MAX_DAG_STEPS) return null;
  const key = steps.map((s) => `${s.id}<${s.needs.join(',')}`).join(';');
  let dag = drawn.get(stage);
  if (!dag || dag.key !== key) {
    dag = draw(stage, steps, key, onSelect);
    drawn.set(stage, dag);
  }
  for (const [id, node] of dag.nodes) node.setAttribute('class', `step-node ${states.get(id) ?? 'waiting'}`);
  return dag.svg;
}

function draw(stage: string, steps: readonly { id: string; needs: readonly string[] }[], key: string, onSelect: (stage: string, step: string) => void): Drawn {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 6, ranksep: 18, marginx: 4, marginy: 4 });
  g.setDefaultEdgeLabel(() => ({}));
  const ids = new Set(steps.map((s) => s.id));
  for (const step of steps) g.setNode(step.id, { width: NODE_W, height: NODE_H });
  for (const step of steps) for (const need of step.needs) if (ids.has(need)) g.setEdge(need, step.id);
  dagre.layout(g);
  const { width = 100, height = 40 } = g.graph();
  const svg = el('svg', { class: 'step-dag', viewBox: `0 0 ${width} ${height}`, 'data-stage': stage, role: 'img', 'aria-label': `steps of ${stage}` });
  svg.style.maxWidth = `${width}px`;
  for (const edge of g.edges()) {
    const points = (g.edge(edge) as { points: { x: number; y: number }[] }).points;
    svg.append(el('path', { class: 'step-edge', d: points.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' '), 'data-from': edge.v, 'data-to': edge.w }));
  }
  const nodes = new Map<string, SVGGElement>();
  for (const step of steps) {
    const at = g.node(step.id) as { x: number; y: number };
    const node = el('g', { class: 'step-node waiting', 'data-step': step.id });
    node.append(el('rect', { x: at.x - NODE_W / 2, y: at.y - NODE_H / 2, width: NODE_W, height: NODE_H, rx: 4 }));
    const label = el('text', { x: at.x, y: at.y + 4, 'text-anchor': 'middle' });
    label.textContent = step.id.length > 14 ? `${step.id.slice(0, 13)}…` : step.id;
    const title = el('title', {});
    title.textContent = step.id;
    node.append(label, title);
    node.addEventListener('click', () => onSelect(stage, step.id));
    svg.append(node);
    nodes.set(step.id, node);
  }
  return { svg, nodes, key };
}

function el<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string | number>): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}
