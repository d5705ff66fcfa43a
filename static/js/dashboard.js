/* Dashboard chart: cases opened, confirmed and referred per week.
   The data comes from a json_script block; no inline script, so a strict CSP holds. */
(function () {
  "use strict";

  function draw() {
    var source = document.getElementById("weekly-data");
    var canvas = document.getElementById("weekly-chart");
    if (!source || !canvas || typeof window.Chart === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    var labels = data.labels.map(function (iso) {
      var d = new Date(iso + "T00:00:00Z");
      return d.toLocaleDateString(undefined, { month: "short", day: "numeric", timeZone: "UTC" });
    });
    function series(label, values, colour) {
      return {
        label: label,
        data: values,
        backgroundColor: colour,
        borderColor: colour,
        borderRadius: 3,
        maxBarThickness: 22
      };
    }
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: labels,
        datasets: [
          series("Opened", data.opened, "#2456c9"),
          series("Confirmed", data.confirmed, "#d08a1e"),
          series("Referred", data.referred, "#1f7a4d")
        ]
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12, boxHeight: 12 } },
          tooltip: { callbacks: { title: function (items) { return "Week of " + items[0].label; } } }
        },
        scales: {
          x: { grid: { display: false } },
          y: { beginAtZero: true, ticks: { precision: 0 }, grid: { color: "#edf0f4" } }
        }
      }
    });
    canvas.setAttribute("data-drawn", "true");
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
