/* gxcpool live figures: Server-Sent Events from /api/events update the page in place.
 *
 * The pages are complete without this script.  It only rewrites elements
 * marked data-live="<figure>" (formatted as data-format says) and adds rows to
 * the recent-blocks table (tbody#recent-blocks).  Text goes in through
 * textContent, never as markup: addresses and worker names are miner input.
 */
(function () {
  "use strict";

  if (!window.EventSource || !document.querySelector) {
    return;
  }

  var PREFIXES = ["", "k", "M", "G", "T", "P", "E", "Z", "Y"];
  var STATUS_OF = {"block.matured": "mature", "block.orphaned": "orphaned"};

  function significant(value) {
    if (value >= 100) {
      return String(Math.round(value));
    }
    var decimals = Math.max(0, 2 - Math.floor(Math.log10(value)));
    var text = value.toFixed(decimals);
    return text.indexOf(".") >= 0 ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
  }

  function si(value, unit) {
    if (typeof value !== "number" || !isFinite(value)) {
      return "–";
    }
    if (value === 0) {
      return unit ? "0 " + unit : "0";
    }
    var sign = value < 0 ? "-" : "";
    var exponent = 0;
    value = Math.abs(value);
    while (value >= 999.5 && exponent < PREFIXES.length - 1) {
      value /= 1000;
      exponent += 1;
    }
    var suffix = PREFIXES[exponent] + (unit || "");
    return sign + significant(value) + (suffix ? " " + suffix : "");
  }

  var FORMATS = {
    hashrate: function (v) { return si(v, "H/s"); },
    count: function (v) {
      return typeof v === "number" ? Math.round(v).toLocaleString("en-US") : "–";
    },
    number: function (v) {
      return typeof v === "number" && isFinite(v) ? String(Number(v.toPrecision(4))) : "–";
    },
    text: function (v) { return v === null || v === undefined ? "–" : String(v); }
  };

  function setFigure(name, value) {
    var nodes = document.querySelectorAll('[data-live="' + name + '"]');
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      var format = FORMATS[node.getAttribute("data-format")] || FORMATS.text;
      var text = format(value);
      var prefix = node.getAttribute("data-live-class");
      if (prefix) {
        swapClass(node, prefix, prefix + text.replace(/[^a-z0-9-]/g, ""));
      }
      if (node.textContent !== text) {
        node.textContent = text;
        flash(node);
      }
    }
  }

  function swapClass(node, prefix, wanted) {
    var classes = node.className.split(/\s+/).filter(function (c) {
      return c && c.indexOf(prefix) !== 0;
    });
    classes.push(wanted);
    node.className = classes.join(" ");
  }

  function flash(node) {
    node.classList.remove("flash");
    void node.offsetWidth;          // restart the animation
    node.classList.add("flash");
  }

  function onStats(data) {
    ["total_hash_rate", "active_miners", "active_workers", "blocks_found", "height",
     "network_difficulty", "node_state"].forEach(function (name) {
      if (data[name] !== undefined && data[name] !== null) {
        setFigure(name, data[name]);
      }
    });
    var windows = data.hashrate || {};
    Object.keys(windows).forEach(function (win) {
      Object.keys(windows[win] || {}).forEach(function (algorithm) {
        setFigure("hashrate." + win + "." + algorithm, windows[win][algorithm]);
      });
    });
  }

  // ------------------------------------------------------------ recent blocks

  function cell(row, className) {
    var td = document.createElement("td");
    if (className) {
      td.className = className;
    }
    row.appendChild(td);
    return td;
  }

  function statusPill(status) {
    var span = document.createElement("span");
    span.className = "status status-" + String(status).replace(/[^a-z-]/g, "");
    span.textContent = status;
    return span;
  }

  function shortHash(hash) {
    hash = String(hash || "");
    return hash.length > 21 ? hash.slice(0, 10) + "…" + hash.slice(-6) : hash;
  }

  function findRow(table, hash) {
    var rows = table.querySelectorAll("tr[data-hash]");
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].getAttribute("data-hash") === hash) {
        return rows[i];
      }
    }
    return null;
  }

  function setRowStatus(row, status) {
    var td = row.querySelector('[data-cell="status"]');
    if (td) {
      td.textContent = "";
      td.appendChild(statusPill(status));
      flash(row);
    }
  }

  function blockRow(data, status) {
    var row = document.createElement("tr");
    row.setAttribute("data-hash", String(data.hash || ""));
    row.className = "new";

    var height = document.createElement("a");
    height.href = "/blocks";
    height.textContent = String(data.height);
    cell(row, "num").appendChild(height);

    var hash = document.createElement("span");
    hash.className = "mono";
    hash.title = String(data.hash || "");
    hash.textContent = shortHash(data.hash);
    cell(row).appendChild(hash);

    var algo = document.createElement("span");
    algo.className = "algo algo-" + String(data.algorithm || "").replace(/[^a-z0-9]/g, "");
    algo.textContent = data.algorithm || "";
    cell(row).appendChild(algo);

    var finder = cell(row);
    var address = String(data.address || "");
    if (address && address.charAt(0) !== "@") {
      var link = document.createElement("a");
      link.className = "mono";
      link.href = "/miners/" + encodeURIComponent(address);
      link.textContent = address.length > 25 ? address.slice(0, 12) + "…" + address.slice(-6) : address;
      finder.appendChild(link);
    } else {
      finder.textContent = address || "–";
    }
    var worker = document.createElement("span");
    worker.className = "worker";
    worker.textContent = data.worker || "";
    finder.appendChild(worker);

    cell(row, "num").textContent = "–";
    cell(row, "num").textContent = "–";
    var statusCell = cell(row);
    statusCell.setAttribute("data-cell", "status");
    statusCell.appendChild(statusPill(status));
    var when = document.createElement("time");
    when.dateTime = new Date((data.time || Date.now() / 1000) * 1000).toISOString();
    when.textContent = "just now";
    cell(row).appendChild(when);
    return row;
  }

  function onBlock(kind, data) {
    var body = document.getElementById("recent-blocks");
    if (!body || !data.hash) {
      return;
    }
    var status = kind === "block.found" ? "candidate" : (STATUS_OF[kind] || data.status);
    var row = findRow(body, String(data.hash));
    if (row) {
      if (status) {
        setRowStatus(row, status);
      }
      return;
    }
    if (kind !== "block.found" && kind !== "block.submitted") {
      return;
    }
    var empty = body.querySelector("tr.empty");
    if (empty) {
      body.removeChild(empty);
    }
    body.insertBefore(blockRow(data, status || "submitted"), body.firstChild);
    var keep = Math.max(10, parseInt(body.getAttribute("data-live-blocks"), 10) || 0);
    while (body.rows.length > keep) {
      body.removeChild(body.rows[body.rows.length - 1]);
    }
  }

  // ------------------------------------------------------------ the stream

  function parse(event) {
    try {
      return JSON.parse(event.data);
    } catch (e) {
      return null;
    }
  }

  function start() {
    var indicator = document.getElementById("live-status");
    var source = new EventSource("/api/events");
    source.onopen = function () {
      if (indicator) {
        indicator.hidden = false;
        indicator.classList.remove("stale");
        indicator.textContent = "live";
      }
    };
    source.onerror = function () {
      if (indicator && !indicator.hidden) {
        indicator.classList.add("stale");
        indicator.textContent = "reconnecting";
      }
    };
    source.addEventListener("stats", function (event) {
      var data = parse(event);
      if (data) {
        onStats(data);
      }
    });
    source.addEventListener("height.new", function (event) {
      var data = parse(event);
      if (data) {
        setFigure("height", data.height);
        setFigure("network_difficulty", data.difficulty);
      }
    });
    ["block.found", "block.submitted", "block.confirmed", "block.matured",
     "block.orphaned"].forEach(function (kind) {
      source.addEventListener(kind, function (event) {
        var data = parse(event);
        if (data) {
          onBlock(kind, data);
        }
      });
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
