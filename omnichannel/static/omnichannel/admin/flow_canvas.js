// The flow canvas on a flow's admin page: the flow drawn as a graph (Drawflow, vendored
// under vendor/drawflow/) with the figures of a chosen period on every node, edited in
// place and saved as one graph. The server (flows/canvas.py) checks and applies it, or
// names what it refuses; this script keeps no rule of its own beyond one way per output.
// Its words come from the page (admin/flows/canvas.py), never from here.
document.addEventListener("DOMContentLoaded", () => {
  "use strict";
  const root = document.getElementById("canvas");
  const configNode = document.getElementById("oc-canvas-config");
  if (!root || !configNode || typeof window.Drawflow !== "function") {
    return;
  }
  const config = JSON.parse(configNode.textContent);
  const words = config.words;
  const channelLabels = Object.fromEntries(config.channels);
  const STEP_KINDS = ["message", "split", "exit"];
  // How many ways in and out each kind of node has; a split's first output is "yes".
  const INPUTS = { trigger: 0, message: 1, split: 1, exit: 1, end: 1, goal: 0 };
  const OUTPUTS = { trigger: 1, message: 1, split: 2, exit: 0, end: 0, goal: 0 };
  const COLUMN = 240;
  const ROW = 170;
  const NODE = { width: 210, height: 130 }; // about the size of a drawn node, for fitting

  const drawing = root.querySelector("#oc-canvas-drawing");
  const status = root.querySelector(".oc-canvas-status");
  const problemList = root.querySelector(".oc-canvas-problems");
  const panel = root.querySelector(".oc-canvas-fields");
  const emptyPanel = root.querySelector(".oc-canvas-empty");
  const field = (name) => panel.querySelector(`[data-oc-field="${name}"]`);
  const nameInput = root.querySelector("#oc-canvas-name");
  const channelSelect = root.querySelector("#oc-canvas-channel");
  const delayInput = root.querySelector("#oc-canvas-delay");
  const wayChoosers = [
    root.querySelector("#oc-canvas-next"),
    root.querySelector("#oc-canvas-yes"),
    root.querySelector("#oc-canvas-no"),
  ];

  const editor = new window.Drawflow(drawing);
  // Staff who may only view the flow see it drawn, nodes fixed, with no editing buttons.
  editor.editor_mode = config.editable ? "edit" : "fixed";
  editor.start();
  const editing = "[data-oc-add], [data-oc-delete], [data-oc-save]";
  for (const button of root.querySelectorAll(editing)) {
    button.hidden = !config.editable;
  }
  let currencies = [];
  let newNodes = 0;
  let selected = null; // the Drawflow id of the node in the panel
  let unsaved = false; // changed since drawn: leaving the page asks first

  for (const input of [nameInput, channelSelect, delayInput, ...wayChoosers]) {
    input.disabled = !config.editable;
  }
  // Escape in the panel goes back to the node it shows.
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && selected !== null) {
      element(selected).focus();
    }
  });
  for (const [value, label] of config.channels) {
    channelSelect.add(new Option(label, value));
  }
  emptyPanel.textContent = words.chooseNode;

  const nodes = () => editor.drawflow.drawflow.Home.data;
  const element = (id) => drawing.querySelector(`#node-${id}`);
  const byGraphId = (graphId) =>
    Object.keys(nodes()).find((id) => nodes()[id].data.id === graphId);

  function say(text) {
    status.textContent = text;
  }

  // --- drawing the nodes ------------------------------------------------------------------

  function figuresText(data) {
    return Object.entries(data.figures || {})
      .map(([name, value]) => {
        const inCurrency = name === "revenue" && currencies.length;
        const shown = inCurrency ? `${value} ${currencies.join(", ")}` : value;
        return `${words.figures[name] || name} ${shown}`;
      })
      .join(" · ");
  }

  function title(data) {
    return data.name || data.label || words.kinds[data.kind];
  }

  // "Message: Reminder", or "Flow completed" for a node with no name of its own.
  function described(data) {
    const kind = words.kinds[data.kind];
    return title(data) === kind ? kind : `${kind}: ${title(data)}`;
  }

  function render(id) {
    const data = nodes()[id].data;
    const box = element(id);
    const content = box.querySelector(".drawflow_content_node");
    const kind =
      data.kind === "message"
        ? `${words.kinds.message} · ${channelLabels[data.channel] || ""}`
        : words.kinds[data.kind];
    const lines = [
      ["oc-node-kind", kind],
      ["oc-node-name", title(data)],
      ["oc-node-delay", STEP_KINDS.includes(data.kind) ? data.delay : data.event],
      ["oc-node-figures", figuresText(data)],
    ];
    content.replaceChildren(
      ...lines
        .filter(([, text]) => text)
        .map(([name, text]) => {
          const line = document.createElement("div");
          line.className = name;
          line.textContent = text;
          return line;
        }),
    );
    box.tabIndex = 0;
    box.setAttribute("role", "button");
    box.setAttribute("aria-label", lines.map(([, text]) => text).filter(Boolean).join(". "));
    if (data.kind === "split") {
      box.querySelector(".output_1").dataset.way = words.yes;
      box.querySelector(".output_2").dataset.way = words.no;
    }
  }

  function place(data, x, y) {
    const { kind } = data;
    const classes = `oc-node oc-node-${kind}`;
    const id = editor.addNode(kind, INPUTS[kind], OUTPUTS[kind], x, y, classes, data, "");
    render(id);
    return id;
  }

  // Where a node goes when the flow's layout has no place for it: its column is its depth
  // from the trigger, its row the next free one in that column.
  function autoPlaces(graph) {
    const depth = {};
    for (const node of graph.nodes) {
      if (node.type === "trigger" || node.type === "goal") {
        depth[node.id] = 0;
      }
    }
    for (let round = 0; round < graph.nodes.length; round += 1) {
      for (const edge of graph.edges) {
        if (depth[edge.from] !== undefined) {
          depth[edge.to] = Math.max(depth[edge.to] || 0, depth[edge.from] + 1);
        }
      }
    }
    const rows = {};
    const places = {};
    for (const node of graph.nodes) {
      const column = depth[node.id] || 0;
      rows[column] = (rows[column] || 0) + 1;
      places[node.id] = { x: 20 + column * COLUMN, y: 20 + (rows[column] - 1) * ROW };
    }
    return places;
  }

  function draw(graph) {
    editor.clear();
    selected = null;
    showPanel(null);
    currencies = graph.currencies;
    const places = autoPlaces(graph);
    const layout = graph.layout || {};
    for (const node of graph.nodes) {
      const data = {
        id: node.id,
        kind: node.type,
        name: node.name || "",
        label: node.label || "",
        event: node.event || "",
        channel: node.channel || "",
        delay: node.delay_text || "",
        step: node.step || null,
        figures: node.figures,
      };
      const at = (node.step && layout[node.step]) || places[node.id];
      place(data, at.x, at.y);
    }
    for (const edge of graph.edges) {
      const output = edge.branch === "no" ? "output_2" : "output_1";
      editor.addConnection(byGraphId(edge.from), byGraphId(edge.to), output, "input_1");
    }
    fit();
    unsaved = false;
  }

  // Zoom out (never in) until the whole flow is in view, its top left corner at the top
  // left of the canvas. Drawflow scales about the centre: the translation undoes that.
  function fit() {
    const all = Object.values(nodes());
    const right = Math.max(...all.map((node) => node.pos_x)) + NODE.width + 20;
    const bottom = Math.max(...all.map((node) => node.pos_y)) + NODE.height + 20;
    const fits = Math.min(1, drawing.clientWidth / right, drawing.clientHeight / bottom);
    const zoom = Math.max(editor.zoom_min, fits);
    editor.zoom = editor.zoom_last_value = zoom;
    editor.canvas_x = (-drawing.clientWidth / 2) * (1 - zoom);
    editor.canvas_y = (-drawing.clientHeight / 2) * (1 - zoom);
    const shift = `translate(${editor.canvas_x}px, ${editor.canvas_y}px)`;
    editor.precanvas.style.transform = `${shift} scale(${zoom})`;
  }

  function refreshFigures(graph) {
    currencies = graph.currencies;
    for (const node of graph.nodes) {
      const id = byGraphId(node.id);
      if (id !== undefined) {
        nodes()[id].data.figures = node.figures;
        render(id);
      }
    }
    if (selected !== null) {
      showPanel(selected);
    }
  }

  // --- the server -------------------------------------------------------------------------

  function graphUrl() {
    const query = new URLSearchParams();
    for (const name of ["since", "until"]) {
      const value = root.querySelector(`#oc-canvas-${name}`).value;
      if (value) {
        query.set(name, value);
      }
    }
    return `${config.graphUrl}?${query}`;
  }

  async function load(apply) {
    try {
      const response = await fetch(graphUrl(), { credentials: "same-origin" });
      if (!response.ok) {
        say(words.loadFailed);
        return;
      }
      apply(await response.json());
    } catch (error) {
      say(words.failed);
    }
  }

  function payload() {
    const graph = { nodes: [], edges: [] };
    for (const node of Object.values(nodes())) {
      const data = node.data;
      if (STEP_KINDS.includes(data.kind)) {
        graph.nodes.push({
          id: data.id,
          kind: data.kind,
          name: data.name,
          channel: data.channel,
          delay: data.delay,
          x: node.pos_x,
          y: node.pos_y,
        });
      }
      for (const [output, way] of Object.entries(node.outputs)) {
        for (const connection of way.connections) {
          graph.edges.push({
            from: data.id,
            to: nodes()[connection.node].data.id,
            branch: data.kind === "split" ? (output === "output_2" ? "no" : "yes") : null,
          });
        }
      }
    }
    return graph;
  }

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) {
      return input.value;
    }
    const cookie = document.cookie.split("; ").find((part) => part.startsWith("csrftoken="));
    return cookie ? decodeURIComponent(cookie.split("=")[1]) : "";
  }

  function showProblems(problems) {
    for (const box of drawing.querySelectorAll(".oc-node-problem")) {
      box.classList.remove("oc-node-problem");
    }
    problemList.replaceChildren();
    problemList.hidden = !problems.length;
    for (const problem of problems) {
      const item = document.createElement("li");
      item.textContent = problem.text;
      const id = problem.node ? byGraphId(problem.node) : undefined;
      if (id !== undefined) {
        // The item leads to the node it names, by click or by keyboard.
        element(id).classList.add("oc-node-problem");
        item.tabIndex = 0;
        item.addEventListener("click", () => element(id).focus());
        item.addEventListener("keydown", (event) => {
          if (event.key === "Enter") {
            element(id).focus();
          }
        });
      }
      problemList.append(item);
    }
  }

  async function save() {
    say(words.saving);
    try {
      const response = await fetch(config.saveUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify(payload()),
      });
      const answer = await response.json();
      if (response.ok) {
        showProblems([]);
        await load(draw);
        say(words.saved);
        // The form above still holds the steps as they were: saving it would undo this.
        for (const button of document.querySelectorAll("#flow_form [type=submit]")) {
          button.disabled = true;
        }
      } else {
        showProblems(answer.problems || []);
        say(words.refused);
      }
    } catch (error) {
      say(words.failed);
    }
  }

  // --- editing ----------------------------------------------------------------------------

  function add(kind) {
    newNodes += 1;
    const data = {
      id: `new:${newNodes}`,
      kind,
      name: words.new[kind],
      // The first channel after "best available", as the server defaults to.
      channel: kind === "message" ? config.channels[1][0] : "",
      delay: "",
      step: null,
      figures: {},
    };
    // Right of the selected node, else at the top left of the visible part of the canvas;
    // lower down while another node is in the way.
    const near = selected !== null ? nodes()[selected] : null;
    const x = near ? near.pos_x + COLUMN : 40 - editor.canvas_x / editor.zoom;
    let y = near ? near.pos_y : 40 - editor.canvas_y / editor.zoom;
    const taken = (top) =>
      Object.values(nodes()).some(
        (node) => Math.abs(node.pos_x - x) < NODE.width && Math.abs(node.pos_y - top) < ROW,
      );
    while (taken(y)) {
      y += ROW;
    }
    const id = place(data, x, y);
    showPanel(id);
    nameInput.focus();
    nameInput.select();
  }

  function remove(id) {
    if (!config.editable || id === null || !STEP_KINDS.includes(nodes()[id].data.kind)) {
      return;
    }
    editor.removeNodeId(`node-${id}`);
    editor.node_selected = null;
    showPanel(null);
    drawing.focus();
  }

  function targetsFor(id) {
    return Object.keys(nodes()).filter(
      (other) => other !== String(id) && INPUTS[nodes()[other].data.kind],
    );
  }

  function fillChooser(select, id) {
    const output = select.dataset.ocOutput;
    const way = nodes()[id].outputs[output];
    const current = way && way.connections.length ? way.connections[0].node : "";
    select.replaceChildren(new Option(words.noConnection, ""));
    for (const other of targetsFor(id)) {
      select.add(new Option(described(nodes()[other].data), other));
    }
    select.value = current;
  }

  function showPanel(id) {
    selected = id;
    panel.hidden = id === null;
    emptyPanel.hidden = id !== null;
    if (id === null) {
      return;
    }
    const data = nodes()[id].data;
    const isStep = STEP_KINDS.includes(data.kind);
    const shown = {
      name: isStep,
      channel: data.kind === "message",
      delay: isStep,
      next: data.kind === "message" || data.kind === "trigger",
      yes: data.kind === "split",
      no: data.kind === "split",
      edit: isStep && Boolean(data.step),
    };
    for (const [name, visible] of Object.entries(shown)) {
      field(name).hidden = !visible;
    }
    panel.querySelector(".oc-canvas-kind").textContent = described(data);
    nameInput.value = data.name;
    channelSelect.value = data.channel || config.channels[1][0];
    delayInput.value = data.delay;
    for (const chooser of wayChoosers) {
      if (!chooser.closest("[data-oc-field]").hidden) {
        fillChooser(chooser, id);
      }
    }
    panel.querySelector(".oc-canvas-figures").textContent = figuresText(data);
    const edit = panel.querySelector(".oc-canvas-edit");
    edit.href = data.step ? config.stepUrl.replace("__pk__", data.step) : "#";
    edit.textContent = words.edit[data.kind] || "";
    const fixed = panel.querySelector(".oc-canvas-fixed");
    fixed.hidden = isStep;
    fixed.textContent = words.fixedNode;
  }

  function changeSelected(update) {
    if (selected === null) {
      return;
    }
    update(nodes()[selected].data);
    render(selected);
    unsaved = true;
  }

  const changes = [
    "nodeCreated",
    "nodeRemoved",
    "nodeMoved",
    "connectionCreated",
    "connectionRemoved",
  ];
  for (const change of changes) {
    editor.on(change, () => (unsaved = true));
  }
  window.addEventListener("beforeunload", (event) => {
    if (unsaved) {
      event.preventDefault();
      event.returnValue = ""; // what Chrome still needs to ask
    }
  });

  nameInput.addEventListener("input", () => {
    changeSelected((data) => (data.name = nameInput.value));
  });
  channelSelect.addEventListener("change", () => {
    changeSelected((data) => (data.channel = channelSelect.value));
  });
  delayInput.addEventListener("input", () => {
    changeSelected((data) => (data.delay = delayInput.value));
  });
  for (const chooser of wayChoosers) {
    chooser.addEventListener("change", () => {
      // Read first: removing the old way refills the panel's lists.
      const [output, target] = [chooser.dataset.ocOutput, chooser.value];
      for (const connection of [...nodes()[selected].outputs[output].connections]) {
        editor.removeSingleConnection(selected, connection.node, output, connection.output);
      }
      if (target) {
        editor.addConnection(selected, target, output, "input_1");
      }
    });
  }

  // One way out of each output: a new connection replaces the one it had.
  editor.on("connectionCreated", ({ output_id, input_id, output_class, input_class }) => {
    const way = nodes()[output_id].outputs[output_class];
    for (const connection of [...way.connections]) {
      if (connection.node !== String(input_id) || connection.output !== input_class) {
        editor.removeSingleConnection(output_id, connection.node, output_class, connection.output);
      }
    }
    if (selected !== null) {
      showPanel(selected);
    }
  });
  editor.on("nodeSelected", (id) => showPanel(String(id)));
  // Drawflow records a dragged node one mouse step ahead of where it draws it, and in
  // fractions of a pixel when zoomed: keep (and save) the whole pixel it is seen at.
  editor.on("nodeMoved", (id) => {
    const box = element(id);
    const node = nodes()[id];
    node.pos_x = Math.round(parseFloat(box.style.left));
    node.pos_y = Math.round(parseFloat(box.style.top));
    box.style.left = `${node.pos_x}px`;
    box.style.top = `${node.pos_y}px`;
    editor.updateConnectionNodes(`node-${id}`);
  });
  editor.on("connectionRemoved", () => {
    if (selected !== null) {
      showPanel(selected);
    }
  });
  editor.on("nodeRemoved", (id) => {
    if (selected === String(id)) {
      showPanel(null);
    }
  });

  // Keys on the canvas: Enter opens the focused (or clicked) node in the panel, Delete
  // removes it. Caught before Drawflow's own handler, which would delete the trigger and
  // the end too; a selected connection is left to it (Delete removes that).
  root.addEventListener(
    "keydown",
    (event) => {
      if (!drawing.contains(event.target)) {
        return;
      }
      const box = event.target.closest(".drawflow-node") || editor.node_selected;
      const id = box ? box.id.slice("node-".length) : null;
      if (id === null || !nodes()[id]) {
        return;
      }
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        showPanel(id);
        const open = "[data-oc-field]:not([hidden])";
        const first = panel.querySelector(`${open} input, ${open} select`);
        (first || box).focus();
      } else if (event.key === "Delete" || (event.key === "Backspace" && event.metaKey)) {
        event.preventDefault();
        event.stopPropagation();
        remove(id);
      }
    },
    true,
  );

  for (const button of root.querySelectorAll("[data-oc-add]")) {
    button.addEventListener("click", () => add(button.dataset.ocAdd));
  }
  root.querySelector("[data-oc-delete]").addEventListener("click", () => remove(selected));
  root.querySelector("[data-oc-save]").addEventListener("click", save);
  root.querySelector("[data-oc-period]").addEventListener("click", () => load(refreshFigures));

  load(draw);
});
