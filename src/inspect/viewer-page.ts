/**
 * The pages the inspector server serves: the viewer (its script is bundled to dist/viewer.js)
 * and the bridge that hands the stream to another inspector UI, as `@statelyai/inspect/server`
 * does, by `postMessage` into an iframe.
 */
export type ViewerMode = 'live' | 'replay';

export function viewerHtml(mode: ViewerMode): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>autonomy-orchestrator: ${mode === 'live' ? 'live run' : 'replay'}</title>
<link rel="stylesheet" href="/viewer.css">
</head>
<body data-mode="${mode}">
<header><h1>autonomy-orchestrator</h1><span id="run-id"></span><span id="run-status" class="badge">connecting</span></header>
<div id="banner" role="alert" hidden></div>
<main>
  <section id="graph-pane"><svg id="graph" role="img" aria-label="state machine"></svg><p id="legend"></p></section>
  <aside id="panel">
    <div id="timeline" hidden>
      <button id="prev" type="button" title="previous transition (Left)">&#9664;</button>
      <input id="step" type="range" min="0" max="0" value="0" aria-label="transition">
      <button id="next" type="button" title="next transition (Right)">&#9654;</button>
      <span id="step-label"></span>
    </div>
    <div id="clock" hidden>
      <button id="play" type="button" title="play the run by its own times">&#9654; play</button>
      <select id="speed" aria-label="speed"><option value="1">1×</option><option value="5">5×</option><option value="20" selected>20×</option><option value="100">100×</option></select>
      <input id="time" type="range" min="0" max="0" value="0" aria-label="time">
      <span id="time-label"></span>
    </div>
    <section id="step-details" hidden>
      <h2>Step <span id="step-title"></span> <button id="step-close" type="button" title="close">&#215;</button></h2>
      <ol id="step-attempts"></ol>
      <div id="step-log-bar"></div>
      <pre id="step-log"></pre>
    </section>
    <h2>Steps</h2>
    <ul id="stages"></ul>
    <section id="thermostat" hidden>
      <h2>ROI thermostat</h2>
      <p id="thermostat-standing"></p>
      <svg id="thermostat-chart" role="img" aria-label="concurrency and ROI over time"></svg>
      <ol id="decisions"></ol>
    </section>
    <section id="loops" hidden>
      <h2>Loops and gates</h2>
      <ul id="loops-list"></ul>
    </section>
    <h2>Transitions</h2>
    <ol id="transitions"></ol>
    <h2>Stage executions</h2>
    <div id="gantt" aria-label="timeline of executions"></div>
    <input id="filter" type="search" placeholder="filter: step, stage or status (e.g. failed)" aria-label="filter executions">
    <div id="executions"><p class="empty">none yet</p></div>
    <details id="all-executions-box"><summary id="all-executions-summary">every execution</summary><div id="all-executions"></div></details>
  </aside>
</main>
<script src="/viewer.js"></script>
</body>
</html>
`;
}

export function bridgeHtml(inspectorUrl: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>autonomy-orchestrator: inspector</title>
<style>* { margin: 0; padding: 0; } html, body { height: 100%; } iframe { width: 100%; height: 100%; border: none; }</style>
</head>
<body><iframe id="inspector" src="${escapeAttribute(inspectorUrl)}"></iframe><script src="/bridge.js"></script></body>
</html>
`;
}

/**
 * The relay of `@statelyai/inspect/server`, reading the socket of the page's own host with the
 * page's token. Only the Stately protocol's own messages (`@xstate.*`) reach the other inspector,
 * posted to its origin only: nothing of ours (the report, log tails) goes into that frame.
 */
export const BRIDGE_JS = `(() => {
  const iframe = document.getElementById('inspector');
  const origin = new URL(iframe.src).origin;
  const token = new URLSearchParams(location.search).get('token') || '';
  const buffer = [];
  let connected = false;
  window.addEventListener('message', (e) => {
    if (e.source === iframe.contentWindow && e.data && e.data.type === '@statelyai.connected') {
      connected = true;
      for (const event of buffer) iframe.contentWindow.postMessage(event, origin);
      buffer.length = 0;
    }
  });
  const ws = new WebSocket('ws://' + location.host + '/ws?token=' + encodeURIComponent(token));
  ws.onmessage = (event) => {
    const data = JSON.parse(event.data);
    if (typeof data.type !== 'string' || !data.type.startsWith('@xstate.')) return;
    if (connected) iframe.contentWindow.postMessage(data, origin);
    else buffer.push(data);
  };
})();
`;

export const VIEWER_CSS = `
:root { --bg: #f7f7f9; --fg: #1d1f24; --muted: #6b7080; --line: #c9ccd6; --active: #2563eb; --ok: #15803d; --bad: #b91c1c; --warn: #b45309; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); height: 100vh; display: flex; flex-direction: column; }
header { display: flex; gap: 12px; align-items: baseline; padding: 8px 16px; border-bottom: 1px solid var(--line); background: #fff; }
header h1 { font-size: 16px; margin: 0; }
#run-id { color: var(--muted); font-family: ui-monospace, monospace; }
.badge { padding: 1px 8px; border-radius: 10px; background: #e5e7eb; font-weight: 600; }
.badge.done { background: #dcfce7; color: var(--ok); } .badge.failed, .badge.timeout { background: #fee2e2; color: var(--bad); }
.badge.blocked { background: #fef3c7; color: var(--warn); } .badge.running { background: #dbeafe; color: var(--active); }
main { flex: 1; display: flex; min-height: 0; }
#graph-pane { flex: 1; overflow: auto; padding: 12px; }
#graph { display: block; margin: 0 auto; width: 100%; height: auto; max-height: calc(100vh - 90px); }
#legend { color: var(--muted); font-size: 12px; text-align: center; margin: 6px 0 0; font-family: ui-monospace, monospace; }
#panel { width: 420px; overflow: auto; padding: 8px 16px; border-left: 1px solid var(--line); background: #fff; }
#panel h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 16px 0 6px; }
#transitions { margin: 0; padding-left: 22px; font-family: ui-monospace, monospace; font-size: 12px; }
#transitions li.current { font-weight: 700; color: var(--active); }
#transitions li.future { color: #b6b9c4; }
#transitions .time { color: var(--muted); margin-right: 6px; }
.exec-card { border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px; margin-bottom: 8px; }
.exec-card.future { opacity: .35; }
.exec-card .title { display: flex; gap: 8px; font-weight: 600; }
.exec-card .status.success, .exec-card .status.skipped { color: var(--ok); } .exec-card .status:not(.success):not(.skipped) { color: var(--bad); }
.exec-card .meta { color: var(--muted); font-size: 12px; }
.exec-card details.logs summary { cursor: pointer; color: var(--muted); font-size: 12px; }
.exec-card pre { margin: 4px 0 0; max-height: 120px; overflow: auto; background: #f3f4f6; padding: 4px 6px; font-size: 11px; white-space: pre-wrap; }
.empty { color: var(--muted); }
#banner { padding: 8px 16px; font-weight: 600; border-bottom: 1px solid var(--line); }
#banner.failed { background: #fee2e2; color: var(--bad); } #banner.crashed { background: #fef3c7; color: var(--warn); }
#banner.blocked { background: #fef3c7; color: var(--warn); }
#banner button { margin-left: 8px; } #banner code { font-weight: 400; }
#stages { list-style: none; margin: 0; padding: 0; font-size: 12px; }
#stages > li { margin-bottom: 4px; } #stages .stage { font-weight: 600; margin-right: 6px; }
#stages ul.running { margin: 2px 0 0 12px; padding: 0; list-style: none; color: var(--active); font-family: ui-monospace, monospace; }
#filter { width: 100%; margin-bottom: 8px; padding: 4px 6px; font: inherit; }
.exec-card.root-cause { border: 2px solid var(--bad); }
.exec-card[data-state="cancelled"] { opacity: .6; } .exec-card .status.cancelled { color: var(--muted); }
.exec-card.flash { outline: 3px solid var(--active); }
#gantt { font-size: 11px; margin-bottom: 8px; }
.gantt-axis { position: relative; color: var(--muted); text-align: right; border-bottom: 1px solid var(--line); margin-left: 110px; }
.gantt-cursor { position: absolute; top: 0; width: 2px; height: 1000px; background: var(--active); opacity: .5; pointer-events: none; }
.gantt-row { display: flex; align-items: center; height: 14px; }
.gantt-label { width: 110px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font-family: ui-monospace, monospace; }
.gantt-track { position: relative; flex: 1; height: 10px; background: #f3f4f6; }
.gantt-bar { position: absolute; top: 0; height: 10px; border-radius: 2px; background: var(--ok); }
.gantt-bar.failed { background: var(--bad); } .gantt-bar.cancelled { background: #9ca3af; } .gantt-bar.skipped { background: #86efac; }
#gantt { overflow: hidden; }
#timeline[hidden] { display: none; }
#timeline { display: flex; gap: 6px; align-items: center; margin-top: 8px; }
#timeline input { flex: 1; }
#clock[hidden] { display: none; }
#clock { display: flex; gap: 6px; align-items: center; margin-top: 4px; } #clock input { flex: 1; }
#time-label { font-family: ui-monospace, monospace; font-size: 12px; min-width: 150px; }
#step-label { font-family: ui-monospace, monospace; font-size: 12px; min-width: 150px; }
#thermostat[hidden] { display: none; }
#thermostat-standing { margin: 0 0 4px; font-size: 12px; font-family: ui-monospace, monospace; }
#thermostat-chart { width: 100%; height: auto; background: #fafafa; border: 1px solid var(--line); border-radius: 4px; }
#thermostat-chart .concurrency { fill: none; stroke: var(--active); stroke-width: 2; }
#thermostat-chart .level { stroke-dasharray: 4 3; stroke-width: 1; } #thermostat-chart .level.target { stroke: var(--ok); } #thermostat-chart .level.floor { stroke: var(--bad); }
#thermostat-chart text { font: 10px ui-monospace, monospace; fill: var(--muted); } #thermostat-chart .axis-title { font-weight: 600; }
#thermostat-chart .roi { fill: var(--warn); } #thermostat-chart .roi.below_floor { fill: var(--bad); } #thermostat-chart .roi.above_target { fill: var(--ok); }
#thermostat-chart .future { opacity: .25; } #thermostat-chart .cursor { stroke: var(--active); opacity: .5; }
#decisions { margin: 4px 0 0; padding-left: 22px; font-size: 12px; }
#decisions li.future { color: #b6b9c4; } #decisions .time { color: var(--muted); margin-right: 6px; font-family: ui-monospace, monospace; }
#decisions .change { font-weight: 700; margin-right: 4px; } #decisions li[data-reason="below_floor"] { color: var(--bad); }
#loops[hidden] { display: none; }
#loops-list { list-style: none; margin: 0; padding: 0; font-size: 12px; font-family: ui-monospace, monospace; }
#loops-list li.failed { color: var(--bad); } #loops-list li.passed { color: var(--ok); } #loops-list li.field, #loops-list li.record { color: var(--muted); word-break: break-all; }
svg .node.outcome-passed rect { stroke: var(--ok); stroke-width: 3; } svg .node.outcome-failed rect { stroke: var(--bad); stroke-width: 3; fill: #fee2e2; }
svg .edge.looped path { stroke: var(--active); stroke-width: 2.5; }
svg .edge text.note { font-weight: 700; fill: var(--warn); }
#step-details[hidden] { display: none; }
#step-details { border: 1px solid var(--active); border-radius: 6px; padding: 0 8px 8px; margin-top: 8px; }
#step-title { text-transform: none; letter-spacing: 0; color: var(--fg); font-family: ui-monospace, monospace; }
#step-attempts { margin: 0; padding-left: 0; list-style: none; font-size: 12px; font-family: ui-monospace, monospace; }
#step-attempts .detail { color: var(--muted); margin-left: 16px; word-break: break-all; }
#step-log-bar { display: flex; flex-wrap: wrap; gap: 4px; align-items: center; margin: 6px 0 4px; font-size: 11px; }
#step-log-bar button.current { background: var(--active); color: #fff; } #step-log-where { color: var(--muted); }
#step-log { margin: 0; max-height: 300px; overflow: auto; background: #111827; color: #e5e7eb; padding: 6px; font-size: 11px; white-space: pre-wrap; }
#step-log[data-stream="stderr"] { color: #fecaca; }
.stage.link { cursor: pointer; text-decoration: underline dotted; } #stages ul.running li { cursor: pointer; }
svg.step-dag { display: block; width: 100%; height: auto; margin: 4px 0; }
svg.step-dag .step-edge { fill: none; stroke: #9aa0b0; stroke-width: 1; }
svg.step-dag .step-node { cursor: pointer; } svg.step-dag .step-node rect { fill: #fff; stroke: #9aa0b0; }
svg.step-dag .step-node text { font: 10px ui-monospace, monospace; fill: var(--fg); pointer-events: none; }
svg.step-dag .running rect { fill: #dbeafe; stroke: var(--active); } svg.step-dag .retrying rect { fill: #fef3c7; stroke: var(--warn); }
svg.step-dag .success rect, svg.step-dag .skipped rect { fill: #dcfce7; stroke: var(--ok); } svg.step-dag .failed rect { fill: #fee2e2; stroke: var(--bad); stroke-width: 2; }
svg.step-dag .cancelled rect { fill: #f3f4f6; stroke: #9ca3af; stroke-dasharray: 3 2; }
#all-executions { height: 240px; border: 1px solid var(--line); border-radius: 4px; font: 11px/18px ui-monospace, monospace; }
#all-executions .all-row { padding: 0 6px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; cursor: pointer; }
#all-executions .all-row.failed { color: var(--bad); } #all-executions .all-row.cancelled { color: var(--muted); }
#all-executions-summary { cursor: pointer; color: var(--muted); font-size: 12px; margin: 4px 0; }
svg .node rect { fill: #fff; stroke: #8b90a0; stroke-width: 1.5; }
svg .node.final rect { stroke-width: 3; stroke-dasharray: none; }
svg .node text { font: 600 13px system-ui, sans-serif; fill: var(--fg); }
svg .node.visited rect { fill: #eef2ff; }
svg .node.active rect { fill: var(--active); stroke: #1e40af; }
svg .node.active text { fill: #fff; }
svg .node.final.active.failed rect, svg .node.final.active.timeout rect { fill: var(--bad); stroke: #7f1d1d; }
svg .node.final.active.blocked rect { fill: var(--warn); stroke: #78350f; }
svg .node.final.active.done rect { fill: var(--ok); stroke: #14532d; }
svg .edge path { fill: none; stroke: #9aa0b0; stroke-width: 1.3; }
svg .edge.taken path { stroke: var(--active); stroke-width: 2.5; }
svg .edge text { font: 11px ui-monospace, monospace; fill: var(--muted); }
svg .edge.taken text { fill: var(--active); }
svg .edge .label-bg { fill: var(--bg); }
svg .edge.secondary { display: none; }
svg .edge.secondary.taken { display: inline; }
svg .edge.secondary path { stroke-dasharray: 5 4; }
svg .node.waiting rect { stroke-dasharray: 4 3; fill: #fffbeb; }
svg .node.waiting.active rect { fill: var(--warn); stroke: #78350f; }
`;

function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
