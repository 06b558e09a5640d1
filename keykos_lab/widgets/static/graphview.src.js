// The front end of keykos_lab.widgets.graphview.GraphView: an anywidget module that draws
// the capability graph with sigma.js (WebGL) and graphology.
//
// Built into graphview.js, one self-contained ES module, with esbuild (package.json beside
// this file: `npm ci && npm run build`); nothing is loaded from the network at run time.
//
// The model's traits: `data` (nodes and edges with every attribute already computed in
// Python: positions, colours, sizes, halo and ring; `legend`), `height` (pixels),
// `generation` (changes when a graph is shown afresh: the camera is reset), `picked` (a
// vertex key or null) and `picked_edge` ([source, target] or null), set here on a click.
// One sigma renderer lives as long as the view: a new graph replaces the graphology graph's
// contents, so updates cost no new WebGL context.

import Graph from "graphology";
import Sigma from "sigma";
import { createNodeBorderProgram } from "@sigma/node-border";

const NodeRingProgram = createNodeBorderProgram({
  borders: [
    { size: { attribute: "haloSize", defaultValue: 0 }, color: { attribute: "haloColor" } },
    { size: { attribute: "ringSize", defaultValue: 0 }, color: { attribute: "ringColor" } },
    { size: { fill: true }, color: { attribute: "color" } },
  ],
});

const escape = (text) =>
  String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

// What the tooltip shows, in this order (the rest of the attributes are for drawing).
const NODE_FIELDS = ["kind", "id", "state", "program", "nodes", "members"];
const EDGE_FIELDS = ["key_type", "slot_kind", "slot", "databyte", "rights", "sensory", "count"];

function describe(title, attrs, fields, extra) {
  const rows = fields
    .filter((f) => attrs[f] !== undefined && attrs[f] !== null && attrs[f] !== "")
    .map((f) => `<tr><th>${escape(f)}</th><td>${escape(attrs[f])}</td></tr>`)
    .join("");
  return `<b>${escape(title)}</b><table>${rows}</table>${extra ? `<div>${escape(extra)}</div>` : ""}`;
}

const STYLE = `
.keykos-gv { position: relative; width: 100%; border: 1px solid #ddd; box-sizing: border-box; background: #fff; }
.keykos-gv-stage { position: absolute; inset: 0; }
.keykos-gv-tooltip { position: absolute; z-index: 10; pointer-events: none; background: #fff; border: 1px solid #888;
  border-radius: 4px; padding: 4px 6px; font: 12px sans-serif; max-width: 360px; box-shadow: 0 1px 4px rgba(0,0,0,.25); display: none; }
.keykos-gv-tooltip table { border-collapse: collapse; margin-top: 2px; }
.keykos-gv-tooltip th { text-align: left; padding-right: 8px; font-weight: normal; color: #555; }
.keykos-gv-tooltip td { font-family: monospace; }
.keykos-gv-tooltip div { margin-top: 3px; max-width: 340px; }
.keykos-gv-tools { position: absolute; z-index: 5; left: 6px; top: 6px; display: flex; gap: 3px; }
.keykos-gv-tools button { font: 13px sans-serif; width: 26px; height: 24px; padding: 0; cursor: pointer; background: #fafafa; border: 1px solid #bbb; border-radius: 3px; }
.keykos-gv-legend { position: absolute; z-index: 5; right: 6px; top: 6px; font: 11px sans-serif; background: rgba(255,255,255,.88);
  padding: 3px 6px; border: 1px solid #eee; max-height: calc(100% - 14px); overflow: auto; }
.keykos-gv-legend span.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 4px; vertical-align: middle; }
.keykos-gv-legend span.line { display: inline-block; width: 14px; height: 3px; margin-right: 4px; vertical-align: middle; }
`;

function legendHtml(legend) {
  if (!legend) return "";
  const kinds = (legend.kinds || []).map(([name, colour]) =>
    `<div><span class="swatch" style="background:${escape(colour)}"></span>${escape(name)}</div>`).join("");
  const keys = (legend.keys || []).map(([name, colour]) =>
    `<div><span class="line" style="background:${escape(colour)}"></span>${escape(name)}</div>`).join("");
  const marks = (legend.marks || []).map(([name, colour]) =>
    `<div><span class="swatch" style="background:none;border:3px solid ${escape(colour)};width:6px;height:6px"></span>${escape(name)}</div>`).join("");
  return kinds + keys + marks;
}

function render({ model, el }) {
  if (!document.getElementById("keykos-gv-style")) {
    const style = document.createElement("style");
    style.id = "keykos-gv-style";
    style.textContent = STYLE;
    document.head.appendChild(style);
  }
  el.style.width = "100%";  // a flex item of its box: as wide as the output, not as its content
  el.style.flex = "1 1 auto";
  const box = document.createElement("div");
  box.className = "keykos-gv";
  box.style.height = `${model.get("height")}px`;
  const stage = document.createElement("div");
  stage.className = "keykos-gv-stage";
  const tooltip = document.createElement("div");
  tooltip.className = "keykos-gv-tooltip";
  const tools = document.createElement("div");
  tools.className = "keykos-gv-tools";
  const legend = document.createElement("div");
  legend.className = "keykos-gv-legend";
  box.append(stage, tools, legend, tooltip);
  el.appendChild(box);

  const graph = new Graph({ type: "directed", multi: false, allowSelfLoops: true });
  let picked = model.get("picked");
  let hovered = null;

  const renderer = new Sigma(graph, stage, {
    allowInvalidContainer: true,
    defaultNodeType: "ring",
    nodeProgramClasses: { ring: NodeRingProgram },
    defaultEdgeType: "arrow",
    enableEdgeEvents: true,
    renderEdgeLabels: false,
    labelRenderedSizeThreshold: 0,
    labelDensity: 3,  // small graphs: nearly every label; sigma's grid still thins a crowd
    labelGridCellSize: 80,
    labelSize: 12,
    zIndex: true,
    nodeReducer: (node, attrs) => {
      const out = { ...attrs };
      if (node === picked || node === hovered) {
        out.highlighted = true;
        out.zIndex = 2;
      }
      return out;
    },
    edgeReducer: (edge, attrs) => {
      const out = { ...attrs };
      if (picked !== null && picked !== undefined) {
        const [s, t] = graph.extremities(edge);
        if (s !== picked && t !== picked && !attrs.on_witness) out.color = "#e4e4e4";
      }
      return out;
    },
  });
  // for tests and debugging: the renderer behind this view
  box.keykosView = { renderer, graph };

  function load() {
    const data = model.get("data") || { nodes: [], edges: [] };
    graph.clear();
    for (const n of data.nodes || []) graph.addNode(n.key, n.attributes);
    for (const e of data.edges || []) {
      if (graph.hasNode(e.source) && graph.hasNode(e.target)) {
        graph.addDirectedEdge(e.source, e.target, e.attributes);
      }
    }
    if (picked !== null && !graph.hasNode(picked)) picked = null;
    legend.innerHTML = legendHtml(data.legend);
    renderer.refresh();
  }

  function show(html, x, y) {
    tooltip.innerHTML = html;
    tooltip.style.display = "block";
    const w = box.clientWidth;
    tooltip.style.left = `${Math.min(x + 14, Math.max(0, w - tooltip.offsetWidth - 4))}px`;
    tooltip.style.top = `${y + 14}px`;
  }
  const hide = () => { tooltip.style.display = "none"; };

  renderer.on("enterNode", ({ node, event }) => {
    hovered = node;
    const a = graph.getNodeAttributes(node);
    show(describe(a.label, a, NODE_FIELDS), event.x, event.y);
    stage.style.cursor = "pointer";
    renderer.refresh({ skipIndexation: true });
  });
  renderer.on("leaveNode", () => {
    hovered = null;
    hide();
    stage.style.cursor = "";
    renderer.refresh({ skipIndexation: true });
  });
  renderer.on("enterEdge", ({ edge, event }) => {
    const a = graph.getEdgeAttributes(edge);
    const [s, t] = graph.extremities(edge);
    const title = `${graph.getNodeAttribute(s, "label")} → ${graph.getNodeAttribute(t, "label")}`;
    show(describe(title, a, EDGE_FIELDS, a.label), event.x, event.y);
    stage.style.cursor = "pointer";
  });
  renderer.on("leaveEdge", () => { hide(); stage.style.cursor = ""; });
  renderer.on("clickNode", ({ node }) => {
    picked = node;
    model.set("picked", node);
    model.set("picked_edge", null);
    model.save_changes();
    renderer.refresh({ skipIndexation: true });
  });
  renderer.on("clickEdge", ({ edge }) => {
    model.set("picked_edge", graph.extremities(edge));
    model.save_changes();
  });

  const button = (text, title, action) => {
    const b = document.createElement("button");
    b.textContent = text;
    b.title = title;
    b.addEventListener("click", action);
    tools.appendChild(b);
  };
  const camera = renderer.getCamera();
  button("+", "zoom in", () => camera.animatedZoom({ duration: 250 }));
  button("−", "zoom out", () => camera.animatedUnzoom({ duration: 250 }));
  button("⟲", "show everything", () => camera.animatedReset({ duration: 250 }));

  model.on("change:data", load);
  model.on("change:generation", () => camera.setState({ x: 0.5, y: 0.5, ratio: 1, angle: 0 }));
  model.on("change:picked", () => { picked = model.get("picked"); renderer.refresh({ skipIndexation: true }); });
  model.on("change:height", () => { box.style.height = `${model.get("height")}px`; renderer.resize(); renderer.refresh(); });

  const resize = new ResizeObserver(() => { renderer.resize(); renderer.refresh(); });
  resize.observe(box);
  load();

  return () => {
    resize.disconnect();
    // sigma 3 gives its WebGL contexts back here (WEBGL_lose_context), not when the canvases
    // are collected: the browser keeps only a few alive and drops the oldest beyond that
    renderer.kill();
    box.remove();
  };
}

export default { render };
