/* Dashboard charts (Apache ECharts). Reads the page's one JSON endpoint (#dashboard[data-url]) and draws every
 * [data-chart] element from it; the tables beside the charts carry the same numbers. No inline script (CSP).
 * While a recompute is pending the page polls the JSON and reloads once new numbers are written. */
(function () {
  "use strict";

  var root = document.getElementById("dashboard");
  if (!root || !root.dataset.url || typeof echarts === "undefined") {
    return;
  }

  var POLL_MS = 3000;
  var POLL_LIMIT = 100; // about five minutes, then the page stops asking
  var GREY = "#adb5bd";
  var RED = "#dc3545";
  var charts = [];

  /* Text drawn into the charts, translated by the page (data-t-* on #dashboard); Chinese if the page has none. */
  function t(key, fallback) {
    return root.dataset[key] || fallback;
  }

  /* Names in the charts are data people typed (surveys, projects, questions): ECharts draws labels on the canvas,
   * but a tooltip formatter's string becomes HTML, so every piece of text in one is escaped here. */
  var HTML_ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

  function esc(text) {
    return String(text === null || text === undefined ? "" : text).replace(/[&<>"']/g, function (c) {
      return HTML_ESCAPES[c];
    });
  }

  function fmt(value, digits) {
    if (value === null || value === undefined || isNaN(value)) {
      return "—";
    }
    return Number(value).toFixed(digits === undefined ? 1 : digits);
  }

  function pctLabel(value) {
    return value === null || value === undefined ? "—" : fmt(value) + "%";
  }

  function tooltipPct(params) {
    var list = Array.isArray(params) ? params : [params];
    var lines = [esc(list[0].axisValueLabel || list[0].name)];
    list.forEach(function (p) {
      if (p.seriesType === "custom") {
        return;
      }
      var v = Array.isArray(p.value) ? p.value[1] : p.value;
      // p.marker is ECharts' own coloured dot (HTML it builds from a colour of ours).
      lines.push(p.marker + esc(p.seriesName) + esc(t("tSep", "：")) + pctLabel(v));
    });
    return lines.join("<br>");
  }

  /* Error bars of the 95 % interval, one per category. */
  function intervalSeries(intervals, horizontal) {
    return {
      type: "custom",
      name: t("tInterval", "95% 置信区间"),
      itemStyle: { color: "#212529" },
      silent: true,
      z: 3,
      data: intervals.map(function (ci, i) {
        return ci && ci[0] !== null ? [i, ci[0], ci[1]] : [i, null, null];
      }),
      renderItem: function (params, api) {
        if (api.value(1) === null || isNaN(api.value(1))) {
          return null;
        }
        var low = horizontal ? api.coord([api.value(1), api.value(0)]) : api.coord([api.value(0), api.value(1)]);
        var high = horizontal ? api.coord([api.value(2), api.value(0)]) : api.coord([api.value(0), api.value(2)]);
        var cap = 6;
        var style = { stroke: "#212529", lineWidth: 1.5 };
        var shapes = horizontal
          ? [[low[0], low[1], high[0], high[1]], [low[0], low[1] - cap, low[0], low[1] + cap], [high[0], high[1] - cap, high[0], high[1] + cap]]
          : [[low[0], low[1], high[0], high[1]], [low[0] - cap, low[1], low[0] + cap, low[1]], [high[0] - cap, high[1], high[0] + cap, high[1]]];
        return {
          type: "group",
          children: shapes.map(function (s) {
            return { type: "line", shape: { x1: s[0], y1: s[1], x2: s[2], y2: s[3] }, style: style };
          }),
        };
      },
    };
  }

  function barOption(data) {
    var horizontal = !!data.horizontal;
    var tooFew = data.too_few || [];
    var series = data.series.map(function (s, index) {
      return {
        type: "bar",
        name: s.name,
        data: s.data.map(function (v, i) {
          var item = { value: v };
          if (tooFew[i] && data.series.length === 1) {
            item.itemStyle = { color: GREY };
          }
          return item;
        }),
        // With error bars drawn over the bar ends, the value goes inside the bar so the two do not collide.
        label: data.intervals
          ? { show: true, position: horizontal ? "insideLeft" : "insideBottom", color: "#fff", formatter: function (p) { return pctLabel(p.value); } }
          : { show: data.series.length <= 2, position: horizontal ? "right" : "top", formatter: function (p) { return pctLabel(p.value); } },
        barMaxWidth: 40,
        z: 2 + index,
      };
    });
    if (data.intervals) {
      series.push(intervalSeries(data.intervals, horizontal));
    }
    if (data.targets && data.targets.some(function (t) { return t !== null; })) {
      series.push({
        type: "scatter",
        name: t("tTarget", "目标"),
        symbol: horizontal ? "rect" : "rect",
        symbolSize: horizontal ? [4, 22] : [26, 4],
        itemStyle: { color: RED },
        data: data.targets,
        z: 5,
      });
    }
    var category = { type: "category", data: data.categories, axisLabel: { interval: 0, rotate: horizontal ? 0 : (data.categories.length > 6 ? 30 : 0) } };
    var value = { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } };
    if (horizontal) {
      category.inverse = true;
    }
    return {
      animation: false,
      grid: { left: horizontal ? 140 : 50, right: 40, top: 40, bottom: horizontal ? 30 : 70, containLabel: false },
      legend: { top: 0 },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, formatter: tooltipPct },
      xAxis: horizontal ? value : category,
      yAxis: horizontal ? category : value,
      series: series,
    };
  }

  function lineOption(data) {
    var series = data.series.map(function (s) {
      return {
        type: "line",
        name: s.name,
        connectNulls: true,
        data: s.data.map(function (v, i) {
          var mark = (s.marks || [])[i];
          if (!mark) {
            return { value: v };
          }
          return {
            value: v,
            symbol: "triangle",
            symbolSize: 16,
            symbolRotate: mark === "down" ? 180 : 0,
            itemStyle: { color: mark === "down" ? RED : "#198754" },
          };
        }),
        label: { show: true, position: "top", formatter: function (p) { return pctLabel(p.value); } },
      };
    });
    var selected = {};
    (data.hidden || []).forEach(function (name) { selected[name] = false; });
    return {
      animation: false,
      grid: { left: 50, right: 30, top: 50, bottom: 50 },
      legend: { top: 0, selected: selected },
      tooltip: { trigger: "axis", formatter: tooltipPct },
      xAxis: { type: "category", data: data.categories },
      yAxis: { type: "value", min: function (v) { return Math.max(0, Math.floor(v.min / 10) * 10 - 10); }, max: 100, axisLabel: { formatter: "{value}%" } },
      series: series,
    };
  }

  function quadrantOption(data) {
    var xs = data.points.map(function (p) { return p.x; });
    var ys = data.points.map(function (p) { return p.y; });
    var xMin = Math.min.apply(null, xs.concat([data.median_x])) - 0.05;
    var xMax = Math.max.apply(null, xs.concat([data.median_x])) + 0.05;
    var yMin = Math.max(0, Math.min.apply(null, ys.concat([data.median_y])) - 5);
    var yMax = Math.min(100, Math.max.apply(null, ys.concat([data.median_y])) + 5);
    var scatter = {
      type: "scatter",
      name: data.labels.y,
      symbolSize: 14,
      data: data.points.map(function (p) {
        return { value: [p.x, p.y], name: p.name, itemStyle: { color: p.concentrate ? RED : "#0d6efd" } };
      }),
      label: { show: true, position: "right", formatter: function (p) { return p.name; } },
      labelLayout: { hideOverlap: true },
      markLine: {
        silent: true,
        symbol: "none",
        lineStyle: { type: "dashed", color: "#6c757d" },
        label: { formatter: t("tMedian", "中位数") },
        data: [{ xAxis: data.median_x }, { yAxis: data.median_y }],
      },
      markArea: {
        silent: true,
        itemStyle: { color: "rgba(220, 53, 69, 0.08)" },
        label: { show: true, position: "insideBottomRight", color: RED, fontWeight: "bold" },
        data: [[{ name: data.labels.concentrate, coord: [data.median_x, yMin] }, { coord: [xMax, data.median_y] }]],
      },
    };
    return {
      animation: false,
      grid: { left: 60, right: 90, top: 30, bottom: 60 },
      tooltip: {
        trigger: "item",
        formatter: function (p) {
          return esc(p.name) + "<br>" + esc(t("tImportance", "重要性：")) + fmt(p.value[0], 3) + "<br>" +
            esc(t("tPerformance", "表现：")) + pctLabel(p.value[1]);
        },
      },
      xAxis: { type: "value", name: data.labels.x, nameLocation: "middle", nameGap: 30, min: xMin, max: xMax, axisLabel: { formatter: function (v) { return fmt(v, 2); } } },
      yAxis: { type: "value", name: data.labels.y, nameLocation: "middle", nameGap: 42, min: yMin, max: yMax, axisLabel: { formatter: function (v) { return fmt(v, 0) + "%"; } } },
      series: [scatter],
    };
  }

  function emptyMessage(el, text) {
    el.classList.add("chart-empty");
    el.textContent = text;
    el.dataset.rendered = "empty";
  }

  function draw(data) {
    var elements = root.querySelectorAll("[data-chart]");
    Array.prototype.forEach.call(elements, function (el) {
      var chart = data.charts[el.dataset.chart];
      if (!chart) {
        emptyMessage(el, t("tNoChart", "没有图表数据"));
        return;
      }
      var option;
      if (chart.kind === "bar") {
        if (!chart.categories.length) {
          emptyMessage(el, t("tNoData", "所选范围没有数据"));
          return;
        }
        option = barOption(chart);
      } else if (chart.kind === "line") {
        if (!chart.categories.length) {
          emptyMessage(el, t("tNoTrend", "还没有可比较的调查"));
          return;
        }
        option = lineOption(chart);
      } else if (chart.kind === "quadrant") {
        if (!chart.points.length || chart.median_x === null) {
          emptyMessage(el, t("tFewDrivers", "驱动因素数据不足"));
          return;
        }
        option = quadrantOption(chart);
      } else {
        return;
      }
      var instance = echarts.init(el, null, { renderer: "canvas" });
      instance.setOption(option);
      charts.push(instance);
      el.dataset.rendered = "1";
    });
    root.dataset.chartsReady = "1";
  }

  function fetchData() {
    return fetch(root.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.json();
    });
  }

  /* While a recompute is pending, ask again every few seconds; reload once the numbers have been rewritten. */
  function poll(count) {
    if (count >= POLL_LIMIT) {
      return;
    }
    window.setTimeout(function () {
      fetchData().then(function (data) {
        var before = root.dataset.computed ? Date.parse(root.dataset.computed) : NaN;
        var now = data.computed_at ? Date.parse(data.computed_at) : NaN;
        if (!isNaN(now) && now !== before) {
          window.location.reload();
          return;
        }
        if (data.pending) {
          poll(count + 1);
        }
      }).catch(function () {
        poll(count + 1);
      });
    }, POLL_MS);
  }

  fetchData().then(function (data) {
    draw(data);
    if (data.pending || root.dataset.pending === "1") {
      poll(0);
    }
  }).catch(function () {
    Array.prototype.forEach.call(root.querySelectorAll("[data-chart]"), function (el) {
      emptyMessage(el, t("tFailed", "图表加载失败，数据见旁边的表格"));
    });
    root.dataset.chartsReady = "error";
  });

  window.addEventListener("resize", function () {
    charts.forEach(function (c) { c.resize(); });
  });
  // Printing: redraw at the paper's width (static/css/print.css), and back at the window's afterwards.
  window.addEventListener("beforeprint", function () {
    charts.forEach(function (c) { c.resize(); });
  });
  window.addEventListener("afterprint", function () {
    charts.forEach(function (c) { c.resize(); });
  });
})();

/* The dashboards' 打印 buttons (no inline handlers under the CSP). */
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
