/* The dashboard's script: reads reporting's public JSON API (same origin) and fills the page,
   again every data-refresh seconds. Every value goes in as text (textContent), never as HTML. */
(function () {
  "use strict";

  var main = document.getElementById("main");
  var labels = JSON.parse(document.getElementById("labels").textContent);
  var words = labels.words;
  var settings = main.dataset;
  var locale = labels.lang === "id" ? "id-ID" : "en-GB";
  var numbers = new Intl.NumberFormat(locale, { maximumFractionDigits: 2 });
  var CLOSED = ["resolved", "closed", "rejected", "duplicate"];
  var COLOURS = ["#0b5c3f", "#0b4f8a", "#c25e00", "#7a3e9d", "#b00020", "#4d6b00",
    "#006d77", "#8a5a00", "#5c4d7d", "#3d3d3d", "#a4343a", "#1f7a8c"];
  var charts = {};
  var map = null;
  var points = null;

  function say(key, values) {
    var text = words[key] || key;
    Object.keys(values || {}).forEach(function (name) {
      text = text.replace("{" + name + "}", values[name]);
    });
    return text;
  }

  function api(name, extra) {
    var query = settings.query + (extra ? (settings.query ? "&" : "") + extra : "");
    return getJSON("/api/v1/reports/" + name + (query ? "?" + query : ""));
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(url + ": " + response.status); }
        return response.json();
      });
  }

  function category(id) { return labels.categories[id] || (id === "-" ? say("unknown") : id); }
  function department(id) { return labels.departments[id] || (id === "-" ? say("unknown") : id); }
  function channel(id) { return labels.channels[id] || id; }
  function number(n) { return n === null || n === undefined ? "–" : numbers.format(n); }
  function share(x) { return x === null || x === undefined ? "–" : numbers.format(Math.round(x * 1000) / 10) + " %"; }

  function duration(minutes) {
    if (minutes === null || minutes === undefined) { return "–"; }
    if (minutes < 120) { return say("minutes", { n: numbers.format(Math.round(minutes)) }); }
    return say("hours", { n: numbers.format(Math.round(minutes / 6) / 10) });
  }

  function show(id, value, text) {
    var element = document.getElementById(id);
    element.dataset.value = value === null || value === undefined ? "" : String(value);
    element.textContent = text;
  }

  /* rows: [[cell, ...], ...], a cell {text, num, testid, className} */
  function fill(tableId, rows, columns) {
    var body = document.querySelector("#" + tableId + " tbody");
    var fresh = document.createElement("tbody");
    if (!rows.length) {
      var empty = document.createElement("td");
      empty.colSpan = columns;
      empty.textContent = say("none");
      fresh.appendChild(document.createElement("tr")).appendChild(empty);
    }
    rows.forEach(function (cells) {
      var tr = document.createElement("tr");
      cells.forEach(function (cell, i) {
        var td = document.createElement(i === 0 ? "th" : "td");
        if (i === 0) { td.scope = "row"; }
        td.textContent = cell.text;
        if (cell.num) { td.className = "num"; }
        if (cell.className) { td.className = cell.className; }
        if (cell.testid) { td.dataset.testid = cell.testid; td.dataset.value = String(cell.value); }
        tr.appendChild(td);
      });
      if (cells.rowTestid) { tr.dataset.testid = cells.rowTestid; }
      fresh.appendChild(tr);
    });
    body.parentNode.replaceChild(fresh, body);
  }

  function counted(counts) {
    return Object.keys(counts || {}).map(function (k) { return [k, counts[k]]; })
      .sort(function (a, b) { return b[1] - a[1] || (a[0] < b[0] ? -1 : 1); });
  }

  function chart(id, config) {
    if (typeof Chart === "undefined") { return; }
    if (charts[id]) {
      charts[id].data = config.data;
      charts[id].update();
      return;
    }
    config.options = Object.assign({ animation: false, responsive: true, maintainAspectRatio: false }, config.options);
    charts[id] = new Chart(document.getElementById(id), config);
  }

  function headline(summary, sla, satisfaction) {
    var closed = CLOSED.reduce(function (n, s) { return n + ((summary.by_status || {})[s] || 0); }, 0);
    show("total", summary.total, number(summary.total));
    show("open", summary.total - closed, number(summary.total - closed));
    show("overdue-now", sla.overdue_now, number(sla.overdue_now));
    show("within-sla", sla.resolved_within_sla, share(sla.resolved_within_sla));
    show("first-response", sla.to_first_response.median_minutes, duration(sla.to_first_response.median_minutes));
    show("mean-score", satisfaction.mean_score, number(satisfaction.mean_score));
    show("ratings", satisfaction.ratings, number(satisfaction.ratings));
  }

  function timeseries(series) {
    var ids = {};
    series.points.forEach(function (p) { Object.keys(p.by_category).forEach(function (c) { ids[c] = true; }); });
    var datasets = Object.keys(ids).sort().map(function (c, i) {
      return {
        label: category(c),
        data: series.points.map(function (p) { return p.by_category[c] || 0; }),
        backgroundColor: COLOURS[i % COLOURS.length]
      };
    });
    chart("chart-timeseries", {
      type: "bar",
      data: { labels: series.points.map(function (p) { return p.period; }), datasets: datasets },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }

  function breakdowns(summary) {
    fill("categories-table", counted(summary.by_category).map(function (e) {
      return [{ text: category(e[0]) }, { text: number(e[1]), num: true, testid: "category-" + e[0], value: e[1] }];
    }), 2);
    var channels = counted(summary.by_channel);
    fill("channels-table", channels.map(function (e) {
      return [{ text: channel(e[0]) }, { text: number(e[1]), num: true, testid: "channel-" + e[0], value: e[1] }];
    }), 2);
    chart("chart-channels", {
      type: "bar",
      data: {
        labels: channels.map(function (e) { return channel(e[0]); }),
        datasets: [{ label: say("reports"), data: channels.map(function (e) { return e[1]; }), backgroundColor: COLOURS[1] }]
      },
      options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }

  function slaTable(sla) {
    var rows = Object.keys(sla.by_department).sort().map(function (id) {
      var d = sla.by_department[id];
      return [
        { text: department(id) },
        { text: number(d.cases), num: true },
        { text: number(d.resolved), num: true },
        { text: share(d.resolved_within_sla), num: true },
        { text: duration(d.to_first_response.median_minutes), num: true },
        { text: duration(d.to_resolve.median_minutes), num: true },
        { text: number(d.overdue_now), num: true, testid: "sla-overdue-" + id, value: d.overdue_now }
      ];
    });
    fill("sla-table", rows, 7);
  }

  function scores(satisfaction) {
    var rows = ["5", "4", "3", "2", "1"].map(function (s) {
      var n = satisfaction.by_score[s] || 0;
      return [{ text: s }, { text: number(n), num: true, testid: "score-" + s, value: n }];
    });
    fill("scores-table", rows, 2);
  }

  function hotspots(found) {
    var spots = found.hotspots;
    fill("hotspots-table", spots.slice(0, 15).map(function (s) {
      return [{ text: s.kelurahan }, { text: s.kecamatan || "–" },
        { text: number(s.total), num: true, testid: "hotspot-" + s.kelurahan, value: s.total },
        { text: number(s.open), num: true }];
    }), 4);
    if (typeof L === "undefined") { return; }
    if (!map) {
      map = L.map("map", { scrollWheelZoom: false }).setView([-6.889, 109.675], 13);
      if (settings.tiles) {
        L.tileLayer(settings.tiles, { maxZoom: 18, attribution: settings.attribution }).addTo(map);
      }
      points = L.layerGroup().addTo(map);
    }
    points.clearLayers();
    var most = spots.reduce(function (m, s) { return Math.max(m, s.total); }, 1);
    spots.forEach(function (s) {
      if (s.lat === null || s.lon === null) { return; }
      var tip = document.createElement("span");
      tip.textContent = s.kelurahan + ": " + number(s.total) + " " + say("reports") + ", " + number(s.open) + " " + say("open");
      L.circleMarker([s.lat, s.lon], {
        radius: 6 + 14 * Math.sqrt(s.total / most),
        color: "#7a2e00", weight: 2, fillColor: "#c25e00", fillOpacity: 0.55
      }).bindTooltip(tip).addTo(points);
    });
  }

  function trending(found) {
    fill("trending-table", found.trending.slice(0, 10).map(function (r) {
      return [{ text: category(r.category) }, { text: r.kecamatan === "-" ? "–" : r.kecamatan },
        { text: number(r.this_week), num: true }, { text: number(r.weekly_mean_before), num: true },
        { text: (r.change > 0 ? "+" : "") + number(r.change), num: true }];
    }), 5);
  }

  function meToo(found) {
    fill("clusters-table", found.clusters.map(function (c) {
      return [{ text: c.kelurahan || "–" }, { text: category(c.category || "-") },
        { text: number(c.size), num: true, testid: "cluster-" + c.cluster_id, value: c.size },
        { text: when(c.first_seen) }, { text: when(c.last_seen) }];
    }), 5);
  }

  function overdue(found) {
    var rows = found.overdue.map(function (r) {
      var cells = [{ text: r.id }, { text: r.department_id ? department(r.department_id) : "–" },
        { text: r.category ? category(r.category) : "–" }, { text: r.kelurahan || "–" },
        { text: when(r.due_at) }, { text: r.text || "", className: "case-text" }];
      cells.rowTestid = "overdue-row";
      return cells;
    });
    fill("overdue-table", rows, 6);
  }

  function when(iso) {
    if (!iso) { return "–"; }
    var at = new Date(iso);
    if (isNaN(at.getTime())) { return iso; }
    return at.toLocaleString(locale, { timeZone: "Asia/Jakarta", dateStyle: "medium", timeStyle: "short" });
  }

  function load() {
    var status = document.getElementById("status");
    var reads = [api("summary"), api("sla"), api("satisfaction"), api("timeseries", "interval=" + settings.interval),
      api("hotspots"), api("trending"), api("clusters", "limit=10")];
    if (settings.staff) { reads.push(getJSON("/dashboard/overdue.json")); }
    Promise.all(reads).then(function (found) {
      headline(found[0], found[1], found[2]);
      breakdowns(found[0]);
      slaTable(found[1]);
      scores(found[2]);
      timeseries(found[3]);
      hotspots(found[4]);
      trending(found[5]);
      meToo(found[6]);
      if (settings.staff) { overdue(found[7]); }
      var now = new Date().toLocaleTimeString(locale, { timeZone: "Asia/Jakarta", hour: "2-digit", minute: "2-digit" });
      status.textContent = say("updated", { time: now });
      main.dataset.loaded = String(Date.now());
    }).catch(function () {
      status.textContent = say("failed");
    }).then(function () {
      window.setTimeout(load, Number(settings.refresh || 60) * 1000);
    });
  }

  load();
}());
