// Draws the linked-seller network of templates/sellers/_network.html as SVG.
// Data comes from the svg's data-graph attribute (JSON): htmx drops script elements, data blocks
// included, from the fragments it swaps in. No inline script or style (strict CSP); it runs
// again on every htmx swap.
(function () {
  "use strict";
  if (window.touchstoneNetwork) return;
  var NS = "http://www.w3.org/2000/svg";
  var COLOURS = { closed: "#c0392b", open: "#d68910", active: "#2e86c1", reinstated: "#239b56" };

  function el(name, attrs, text) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text) node.textContent = text;
    return node;
  }

  function colour(node) {
    if (node.status === "closed") return COLOURS.closed;
    if (node.cases.some(function (c) { return c.state === "open"; })) return COLOURS.open;
    return COLOURS[node.status] || COLOURS.active;
  }

  function draw(svg) {
    if (svg.dataset.drawn) return;
    if (!svg.dataset.graph) return;
    var data = JSON.parse(svg.dataset.graph);
    svg.dataset.drawn = "1";
    var width = 480, height = 320, cx = width / 2, cy = height / 2;
    var radius = Math.min(width, height) / 2 - 40;
    var others = data.nodes.filter(function (n) { return n.id !== data.seller; });
    var place = {};
    place[data.seller] = { x: cx, y: cy };
    others.forEach(function (n, i) {
      var angle = (2 * Math.PI * i) / others.length - Math.PI / 2;
      place[n.id] = { x: cx + radius * Math.cos(angle), y: cy + radius * Math.sin(angle) };
    });
    data.edges.forEach(function (edge) {
      var a = place[edge.seller_a], b = place[edge.seller_b];
      if (!a || !b) return;
      var line = el("line", {
        x1: a.x, y1: a.y, x2: b.x, y2: b.y, stroke: "#7f8c8d",
        "stroke-width": 1 + edge.kinds.length, class: "network__edge"
      });
      var what = edge.shared.map(function (s) { return s.label + " " + s.value; }).join(", ");
      line.appendChild(el("title", {}, "#" + edge.seller_a + " – #" + edge.seller_b + ": " + what));
      svg.appendChild(line);
    });
    data.nodes.forEach(function (n) {
      var p = place[n.id];
      var link = el("a", { href: "/sellers/" + n.id + "/", class: "network__node" });
      link.appendChild(el("circle", {
        cx: p.x, cy: p.y, r: n.id === data.seller ? 14 : 10, fill: colour(n),
        stroke: "#1b2631", "stroke-width": n.id === data.seller ? 3 : 1
      }));
      var label = (n.company_name || n.name);
      if (label.length > 22) label = label.slice(0, 21) + "…";
      link.appendChild(el("text", {
        x: p.x, y: p.y + (p.y >= cy ? 28 : -18), "text-anchor": "middle", "font-size": 11,
        fill: "#1b2631"
      }, label));
      var cases = n.cases.map(function (c) { return "#" + c.id + " " + c.state; }).join(", ");
      link.appendChild(el("title", {}, (n.company_name || n.name) + " (" + n.country + ", " +
        n.status + ")" + (cases ? " — cases: " + cases : "")));
      svg.appendChild(link);
    });
  }

  function drawAll(root) {
    (root || document).querySelectorAll("svg[data-network]").forEach(draw);
  }

  window.touchstoneNetwork = { drawAll: drawAll };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { drawAll(); });
  } else {
    drawAll();
  }
  document.addEventListener("htmx:load", function (event) { drawAll(event.target); });
})();
